"""order stages and history

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# the default stages as they were when this migration was written (frozen: later code may change)
DEFAULT_STAGES = [
    {'code': 'new', 'name_ru': 'Новый', 'name_en': 'New', 'position': 0, 'kind': 'open', 'roles': ['operator', 'supervisor', 'admin'], 'next_task': None, 'notify_event': None, 'active': True},
    {'code': 'confirmed', 'name_ru': 'Подтверждён', 'name_en': 'Confirmed', 'position': 1, 'kind': 'open', 'roles': ['operator', 'supervisor', 'admin'], 'next_task': {'title': 'Ship order {number}', 'in_days': 0}, 'notify_event': 'order_confirmed', 'active': True},
    {'code': 'paid', 'name_ru': 'Оплачен', 'name_en': 'Paid', 'position': 2, 'kind': 'open', 'roles': ['operator', 'supervisor', 'admin'], 'next_task': None, 'notify_event': 'payment_received', 'active': True},
    {'code': 'shipped', 'name_ru': 'Отправлен', 'name_en': 'Shipped', 'position': 3, 'kind': 'open', 'roles': ['operator', 'supervisor', 'admin'], 'next_task': {'title': 'Check delivery of order {number}', 'in_days': 7}, 'notify_event': 'order_shipped', 'active': True},
    {'code': 'delivered', 'name_ru': 'Доставлен', 'name_en': 'Delivered', 'position': 4, 'kind': 'won', 'roles': ['operator', 'supervisor', 'admin'], 'next_task': None, 'notify_event': None, 'active': True},
    {'code': 'returned', 'name_ru': 'Возврат', 'name_en': 'Returned', 'position': 5, 'kind': 'lost', 'roles': ['operator', 'supervisor', 'admin'], 'next_task': None, 'notify_event': None, 'active': True},
    {'code': 'cancelled', 'name_ru': 'Отменён', 'name_en': 'Cancelled', 'position': 6, 'kind': 'lost', 'roles': ['operator', 'supervisor', 'admin'], 'next_task': None, 'notify_event': None, 'active': True},
]


def upgrade() -> None:
    op.create_table(
        'order_stages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name_ru', sa.String(length=100), nullable=False),
        sa.Column('name_en', sa.String(length=100), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('roles', sa.JSON(), nullable=False),
        sa.Column('next_task', sa.JSON(), nullable=True),
        sa.Column('notify_event', sa.String(length=32), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_order_stages_shop_id_shops'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_stages')),
        sa.UniqueConstraint('shop_id', 'code', name='uq_order_stages_shop_code'),
    )
    op.create_table(
        'order_stage_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('from_stage', sa.String(length=32), nullable=True),
        sa.Column('to_stage', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('login', sa.String(length=100), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('seconds_in_previous', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_order_stage_changes_order_id_orders'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_order_stage_changes_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_stage_changes')),
    )
    op.create_index('ix_order_stage_changes_shop_at', 'order_stage_changes', ['shop_id', 'at'])
    op.create_index('ix_order_stage_changes_order_at', 'order_stage_changes', ['order_id', 'at'])
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('tracking_number', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('stage_changed_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE orders SET stage_changed_at = updated_at")
    bind = op.get_bind()
    shop_ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM shops"))]
    stages = sa.table('order_stages', sa.column('shop_id', sa.Integer),
                      sa.column('code', sa.String), sa.column('name_ru', sa.String),
                      sa.column('name_en', sa.String), sa.column('position', sa.Integer),
                      sa.column('kind', sa.String), sa.column('roles', sa.JSON),
                      sa.column('next_task', sa.JSON), sa.column('notify_event', sa.String),
                      sa.column('active', sa.Boolean))
    rows = [dict(stage, shop_id=shop_id) for shop_id in shop_ids for stage in DEFAULT_STAGES]
    if rows:
        op.bulk_insert(stages, rows)


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('stage_changed_at')
        batch.drop_column('tracking_number')
    op.drop_index('ix_order_stage_changes_order_at', table_name='order_stage_changes')
    op.drop_index('ix_order_stage_changes_shop_at', table_name='order_stage_changes')
    op.drop_table('order_stage_changes')
    op.drop_table('order_stages')
