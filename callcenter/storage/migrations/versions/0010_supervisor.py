"""the supervisor's desk: each call's recording (found, converted, checked) and operators' plans

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa




revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'recordings',
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('parts', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('file', sa.String(length=300), nullable=True),
        sa.Column('format', sa.String(length=8), nullable=True),
        sa.Column('bytes', sa.BigInteger(), nullable=True),
        sa.Column('duration_seconds', sa.Float(), nullable=True),
        sa.Column('health', sa.String(length=24), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_try_at', sa.DateTime(), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('call_started_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'],
                                name=op.f('fk_recordings_call_id_calls'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('call_id', name=op.f('pk_recordings')),
    )
    op.create_index('ix_recordings_status_next', 'recordings', ['status', 'next_try_at'])
    op.create_index('ix_recordings_call_started_at', 'recordings', ['call_started_at'])
    op.create_table(
        'operator_plans',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('calls_per_day', sa.Integer(), nullable=True),
        sa.Column('confirmed_orders_per_day', sa.Integer(), nullable=True),
        sa.Column('sales_per_day', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_operator_plans_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id'],
                                name=op.f('fk_operator_plans_updated_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_operator_plans')),
    )


def downgrade() -> None:
    op.drop_table('operator_plans')
    op.drop_index('ix_recordings_call_started_at', table_name='recordings')
    op.drop_index('ix_recordings_status_next', table_name='recordings')
    op.drop_table('recordings')
