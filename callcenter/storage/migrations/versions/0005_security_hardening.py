"""atomic login lockout and session revocation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the lockout counted from login_attempts was read and then written in two steps, so a burst
    # of guesses all read "no failures yet": one row per login and address, locked while
    # an attempt is claimed or settled, replaces that count
    op.create_table('login_guards',
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('in_flight', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('login', 'ip', name=op.f('pk_login_guards'))
    )


def downgrade() -> None:
    op.drop_table('login_guards')
