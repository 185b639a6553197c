"""message templates: a shop's (or every shop's) own wording of the customer notifications

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'message_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=True),
        sa.Column('shop_key', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('lang', sa.String(length=2), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_message_templates_shop_id_shops'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id'],
                                name=op.f('fk_message_templates_updated_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
        sa.UniqueConstraint('shop_key', 'event', 'channel', 'lang',
                            name='uq_message_templates_scope'),
    )
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=2), server_default='ru',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('shops') as batch_op:
        batch_op.drop_column('language')
    op.drop_table('message_templates')
