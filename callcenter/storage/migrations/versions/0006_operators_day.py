"""the operator's day: agent states, outcomes, the redial ladder, the next-task queue

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# code, label_ru, label_en, final, failed_attempt, archives, requires_next_at, hotkey
DEFAULT_OUTCOMES = (
    ('no_answer', 'Не отвечает', 'No answer', False, True, False, False, '1'),
    ('busy', 'Занято', 'Busy', False, True, False, False, '2'),
    ('unavailable', 'Недоступен', 'Unavailable', False, True, False, False, '3'),
    ('invalid_number', 'Неверный номер', 'Invalid number', False, False, True, False, '4'),
    ('callback', 'Перезвонить…', 'Call back…', False, False, False, True, '5'),
    ('refused', 'Отказ', 'Refused', True, False, False, False, '6'),
    ('confirmed', 'Заказ подтверждён', 'Order confirmed', True, False, False, False, '7'),
    ('paid', 'Оплачено', 'Paid', True, False, False, False, '8'),
)


def upgrade() -> None:
    false, true = sa.text('false'), sa.text('true')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('autodial', sa.Boolean(), server_default=false,
                                      nullable=False))

    # the callbacks opened after missed calls become missed_call tasks; "callback" now names a
    # call back the client asked for
    op.execute("UPDATE tasks SET kind = 'missed_call' WHERE kind = 'callback'")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_open_callback')
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rank', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('ready_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('window_ends_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('result', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('previous_task_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('handed_over_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=400), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tasks_order_id_orders'), 'orders',
                                    ['order_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_tasks_previous_task_id_tasks'), 'tasks',
                                    ['previous_task_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_tasks_created_by_users'), 'users',
                                    ['created_by'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_tasks_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_tasks_claim', ['status', 'rank', 'ready_at'], unique=False)
        batch_op.create_index('ix_tasks_assigned_status', ['assigned_to', 'status'],
                              unique=False)
        batch_op.create_index('uq_tasks_open_missed_call', ['phone_e164'], unique=True,
                              sqlite_where=sa.text("status = 'open' AND kind = 'missed_call'"),
                              postgresql_where=sa.text("status = 'open' AND kind = 'missed_call'"))

    op.create_table('task_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=True),
    sa.Column('call_key', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_task_attempts_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_attempts_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_task_attempts_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_attempts')),
    sa.UniqueConstraint('call_key', name=op.f('uq_task_attempts_call_key'))
    )
    with op.batch_alter_table('task_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_attempts_task_id'), ['task_id'], unique=False)

    outcomes = op.create_table('outcome_definitions',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label_ru', sa.String(length=100), nullable=False),
    sa.Column('label_en', sa.String(length=100), nullable=False),
    sa.Column('final', sa.Boolean(), server_default=false, nullable=False),
    sa.Column('failed_attempt', sa.Boolean(), server_default=false, nullable=False),
    sa.Column('archives', sa.Boolean(), server_default=false, nullable=False),
    sa.Column('requires_next_at', sa.Boolean(), server_default=false, nullable=False),
    sa.Column('next_task_kind', sa.String(length=32), nullable=True),
    sa.Column('hotkey', sa.String(length=8), nullable=True),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=true, nullable=False),
    sa.Column('builtin', sa.Boolean(), server_default=false, nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_outcome_definitions'))
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(outcomes, [
        {'code': code, 'label_ru': ru, 'label_en': en, 'final': final,
         'failed_attempt': failed, 'archives': archives, 'requires_next_at': needs_time,
         'next_task_kind': None, 'hotkey': key, 'position': i, 'active': True,
         'builtin': True, 'updated_at': now}
        for i, (code, ru, en, final, failed, archives, needs_time, key)
        in enumerate(DEFAULT_OUTCOMES)])

    op.create_table('agent_states',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('chosen', sa.String(length=16), server_default='offline', nullable=False),
    sa.Column('chosen_reason', sa.String(length=64), nullable=True),
    sa.Column('wrap_up_until', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_states_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_states'))
    )
    op.create_table('agent_state_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_state_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_state_changes'))
    )
    with op.batch_alter_table('agent_state_changes', schema=None) as batch_op:
        batch_op.create_index('ix_agent_state_changes_user_at', ['user_id', 'at'], unique=False)
    op.create_table('scheduler_jobs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_jobs'))
    )


def downgrade() -> None:
    op.drop_table('scheduler_jobs')
    with op.batch_alter_table('agent_state_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_state_changes_user_at')
    op.drop_table('agent_state_changes')
    op.drop_table('agent_states')
    op.drop_table('outcome_definitions')
    with op.batch_alter_table('task_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_attempts_task_id'))
    op.drop_table('task_attempts')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_open_missed_call')
        batch_op.drop_index('ix_tasks_assigned_status')
        batch_op.drop_index('ix_tasks_claim')
        batch_op.drop_index(batch_op.f('ix_tasks_order_id'))
        batch_op.drop_constraint(batch_op.f('fk_tasks_created_by_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_tasks_previous_task_id_tasks'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_tasks_order_id_orders'), type_='foreignkey')
        for name in ('timezone', 'handed_over_at', 'created_by', 'previous_task_id', 'order_id',
                     'note', 'result', 'lease_until', 'window_ends_at', 'ready_at', 'rank',
                     'failures', 'priority'):
            batch_op.drop_column(name)
    op.execute("UPDATE tasks SET kind = 'callback' WHERE kind = 'missed_call'")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('uq_tasks_open_callback', ['phone_e164'], unique=True,
                              sqlite_where=sa.text("status = 'open' AND kind = 'callback'"),
                              postgresql_where=sa.text("status = 'open' AND kind = 'callback'"))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('autodial')
