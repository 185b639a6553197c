"""calls written when they start; call records kept until stored

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table rebuild on SQLite: rebuilding calls would fire the
    # ON DELETE SET NULL of tasks.call_id); rows stored before were all complete
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False,
                                      server_default='completed'))
        batch_op.create_index('ix_calls_status_started', ['status', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_status_started')
        batch_op.drop_column('status')
