"""shop requisites and documents

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def _text(name: str, length: int, default: str = '') -> sa.Column:
    return sa.Column(name, sa.String(length=length), server_default=default, nullable=False)


def upgrade() -> None:
    op.create_table(
        'shop_requisites',
        sa.Column('shop_id', sa.Integer(), nullable=False),
        _text('legal_name', 300),
        _text('inn', 12),
        _text('kpp', 9),
        _text('ogrn', 15),
        _text('address', 500),
        _text('phone', 64),
        _text('email', 320),
        _text('bank_name', 300),
        _text('bik', 9),
        _text('account', 20),
        _text('corr_account', 20),
        _text('director', 200),
        _text('accountant', 200),
        _text('vat_rate', 8, 'none'),
        _text('invoice_prefix', 16, 'INV'),
        sa.Column('logo_file', sa.String(length=100), nullable=True),
        sa.Column('stamp_file', sa.String(length=100), nullable=True),
        sa.Column('signature_file', sa.String(length=100), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_shop_requisites_shop_id_shops'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id'],
                                name=op.f('fk_shop_requisites_updated_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_shop_requisites')),
    )
    op.create_table(
        'documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('file', sa.String(length=300), nullable=False),
        sa.Column('bytes', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_message_id', sa.Integer(), nullable=True),
        sa.Column('sent_to', sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_documents_shop_id_shops'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_documents_order_id_orders'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'],
                                name=op.f('fk_documents_client_id_clients'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_documents_created_by_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['sent_message_id'], ['messages.id'],
                                name=op.f('fk_documents_sent_message_id_messages'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
        sa.UniqueConstraint('shop_id', 'kind', 'number', name='uq_documents_shop_kind_number'),
    )
    op.create_index(op.f('ix_documents_order_id'), 'documents', ['order_id'])
    op.create_index(op.f('ix_documents_client_id'), 'documents', ['client_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_documents_client_id'), table_name='documents')
    op.drop_index(op.f('ix_documents_order_id'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('shop_requisites')
