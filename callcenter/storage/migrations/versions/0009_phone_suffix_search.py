"""search by the last digits of a number; "ё" and "е" alike in names

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 5000


def _reversed_digits(e164: str) -> str:
    return ''.join(ch for ch in reversed(e164) if ch.isdigit())


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('client_phones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digits_reversed', sa.String(length=32), nullable=True))
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE client_phones SET digits_reversed = "
                   "reverse(regexp_replace(e164, '[^0-9]', '', 'g'))")
    else:
        phones = sa.table('client_phones', sa.column('id', sa.Integer),
                          sa.column('e164', sa.String), sa.column('digits_reversed', sa.String))
        last = 0
        while True:
            rows = bind.execute(sa.select(phones.c.id, phones.c.e164).where(phones.c.id > last)
                                .order_by(phones.c.id).limit(BATCH)).all()
            if not rows:
                break
            bind.execute(sa.update(phones).where(phones.c.id == sa.bindparam('pid'))
                         .values(digits_reversed=sa.bindparam('digits')),
                         [{'pid': r.id, 'digits': _reversed_digits(r.e164)} for r in rows])
            last = rows[-1].id
    with op.batch_alter_table('client_phones', schema=None) as batch_op:
        batch_op.alter_column('digits_reversed', existing_type=sa.String(length=32),
                              nullable=False)
        batch_op.create_index(batch_op.f('ix_client_phones_digits_reversed'),
                              ['digits_reversed'], unique=False)
    # search_name is casefolded already (Ё became ё): "ё" is searched as "е"
    op.execute("UPDATE clients SET search_name = replace(search_name, 'ё', 'е') "
               "WHERE search_name LIKE '%ё%'")


def downgrade() -> None:
    with op.batch_alter_table('client_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_phones_digits_reversed'))
        batch_op.drop_column('digits_reversed')
