"""reports: covering indexes for a period's calls, state changes, task attempts and order changes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# every column the reports read of a call, after the period's started_at: the month's rows
# are read from the index alone (an index-only scan on PostgreSQL once vacuumed)
REPORT_CALL_COLUMNS = ['started_at', 'direction', 'status', 'outcome', 'answered_by_user_id',
                       'placed_by', 'queue', 'disposition', 'wait_seconds', 'talk_seconds']


def upgrade() -> None:
    op.create_index('ix_calls_report', 'calls', REPORT_CALL_COLUMNS)
    op.create_index('ix_agent_state_changes_at', 'agent_state_changes',
                    ['at', 'user_id', 'state', 'reason'])
    op.create_index('ix_task_attempts_at', 'task_attempts', ['at', 'user_id', 'task_id'])
    op.create_index('ix_changes_field_at', 'changes', ['field', 'at'])


def downgrade() -> None:
    op.drop_index('ix_changes_field_at', table_name='changes')
    op.drop_index('ix_task_attempts_at', table_name='task_attempts')
    op.drop_index('ix_agent_state_changes_at', table_name='agent_state_changes')
    op.drop_index('ix_calls_report', table_name='calls')
