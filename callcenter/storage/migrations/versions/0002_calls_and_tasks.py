"""calls and tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_key', sa.String(length=128), nullable=False),
    sa.Column('linkedid', sa.String(length=64), nullable=True),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=True),
    sa.Column('caller_e164', sa.String(length=32), nullable=True),
    sa.Column('caller_name', sa.String(length=200), nullable=True),
    sa.Column('callee', sa.String(length=64), nullable=True),
    sa.Column('callee_e164', sa.String(length=32), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('operators_rung', sa.JSON(), nullable=False),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('handled_by', sa.JSON(), nullable=False),
    sa.Column('placed_by', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('talk_seconds', sa.Integer(), nullable=False),
    sa.Column('wait_seconds', sa.Integer(), nullable=True),
    sa.Column('hangup_side', sa.String(length=16), nullable=True),
    sa.Column('hangup_cause', sa.Integer(), nullable=True),
    sa.Column('hangup_cause_text', sa.String(length=100), nullable=True),
    sa.Column('recording', sa.String(length=300), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('action_id', sa.String(length=128), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('disposition', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_user_id'], ['users.id'], name=op.f('fk_calls_answered_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_calls_client_id_clients'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('call_key', name=op.f('uq_calls_call_key'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_answered_by_user_id'), ['answered_by_user_id'], unique=False)
        batch_op.create_index('ix_calls_callee_e164', ['callee_e164'], unique=False)
        batch_op.create_index('ix_calls_caller_e164', ['caller_e164'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_started_at'), ['started_at'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('phone_e164', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('assigned_to', sa.Integer(), nullable=True),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_reason', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['assigned_to'], ['users.id'], name=op.f('fk_tasks_assigned_to_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_tasks_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['claimed_by'], ['users.id'], name=op.f('fk_tasks_claimed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_tasks_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_tasks_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('uq_tasks_open_callback', ['phone_e164'], unique=True, sqlite_where=sa.text("status = 'open' AND kind = 'callback'"), postgresql_where=sa.text("status = 'open' AND kind = 'callback'"))



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_open_callback', sqlite_where=sa.text("status = 'open' AND kind = 'callback'"), postgresql_where=sa.text("status = 'open' AND kind = 'callback'"))
        batch_op.drop_index('ix_tasks_status_due')
        batch_op.drop_index(batch_op.f('ix_tasks_client_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_started_at'))
        batch_op.drop_index(batch_op.f('ix_calls_client_id'))
        batch_op.drop_index('ix_calls_caller_e164')
        batch_op.drop_index('ix_calls_callee_e164')
        batch_op.drop_index(batch_op.f('ix_calls_answered_by_user_id'))

    op.drop_table('calls')
