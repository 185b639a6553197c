"""reconciliation of the call log from Asterisk's CDR

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # how far each CDR source (a CSV file, a cdr table) has been read
    op.create_table('cdr_cursors',
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('inode', sa.BigInteger(), nullable=True),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('last_calldate', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_cdr_cursors'))
    )


def downgrade() -> None:
    op.drop_table('cdr_cursors')
