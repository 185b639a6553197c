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
    op.drop_index('ix_tasks_report', table_name='tasks')
    op.drop_index('ix_changes_report', table_name='changes')
    op.drop_index('ix_task_attempts_report', table_name='task_attempts')
    op.drop_index('ix_agent_state_changes_report', table_name='agent_state_changes')
    op.drop_index('ix_calls_report', table_name='calls')
