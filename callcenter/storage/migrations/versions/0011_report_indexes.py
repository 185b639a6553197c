"""reports: covering indexes for a period's calls, state changes, task attempts and order changes;
operators' time per state and local day, kept for days that are over

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# every column the reports read of a call, after the period's started_at: the month's rows
# are read from the index alone (an index-only scan on PostgreSQL once vacuumed)
REPORT_CALL_COLUMNS = ['started_at', 'direction', 'status', 'outcome', 'answered_by_user_id',
                       'placed_by', 'queue', 'disposition', 'wait_seconds', 'talk_seconds']


def upgrade() -> None:
    op.create_table(
        'report_state_days',
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('spans', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_report_state_days_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('zone', 'day', 'user_id', 'state', 'reason',
                                name=op.f('pk_report_state_days')),
    )
    op.create_table(
        'report_state_days_done',
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('zone', 'day', name=op.f('pk_report_state_days_done')),
    )
    op.create_index('ix_calls_report', 'calls', REPORT_CALL_COLUMNS)
    # per operator, a range of time: the period's state changes read from the index alone
    op.create_index('ix_agent_state_changes_report', 'agent_state_changes',
                    ['user_id', 'at', 'state', 'reason'])
    op.create_index('ix_task_attempts_report', 'task_attempts',
                    ['at', 'user_id', 'task_id', 'outcome', 'call_id'])
    op.create_index('ix_changes_report', 'changes',
                    ['field', 'at', 'entity', 'new', 'entity_id', 'user_id'])
    op.create_index('ix_tasks_report', 'tasks',
                    ['kind', 'status', 'closed_at', 'due_at', 'assigned_to'])


def downgrade() -> None:
    op.drop_table('report_state_days_done')
    op.drop_table('report_state_days')
    op.drop_index('ix_tasks_report', table_name='tasks')
    op.drop_index('ix_changes_report', table_name='changes')
    op.drop_index('ix_task_attempts_report', table_name='task_attempts')
    op.drop_index('ix_agent_state_changes_report', table_name='agent_state_changes')
    op.drop_index('ix_calls_report', table_name='calls')
