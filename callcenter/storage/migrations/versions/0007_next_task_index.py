"""next task: an index the claim reads in its order, and one for an operator's own lease

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # in the claim's ORDER BY, then every column its WHERE tests: the claim walks the open
    # tasks in this order and skips the leased, not yet ready or out-of-window ones inside the
    # index, stopping at the first it may take (bench/bench_next_task.py)
    op.create_index('ix_tasks_next', 'tasks',
                    ['status', 'rank', sa.text('priority DESC'), 'ready_at', 'id',
                     'window_ends_at', 'assigned_to', 'lease_until', 'claimed_by', 'claimed_at',
                     'client_id'], unique=False)
    op.create_index('ix_tasks_claimed_by', 'tasks', ['claimed_by', 'lease_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_claimed_by', table_name='tasks')
    op.drop_index('ix_tasks_next', table_name='tasks')
