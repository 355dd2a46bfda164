"""messages sent

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('round', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('transport', sa.String(length=20), nullable=False),
    sa.Column('provider_id', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reason', 'recipient', name='uq_message_reason_recipient')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_round'), ['round'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_sent_at'), ['sent_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_sent_at'))
        batch_op.drop_index(batch_op.f('ix_message_round'))

    op.drop_table('message')
