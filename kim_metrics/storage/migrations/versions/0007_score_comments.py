"""score comments: a thread per score between the KIM team and the team

Revision ID: 0007
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('score_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=320), nullable=False),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['score_id'], ['score.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('score_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_comment_score_id'), ['score_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('score_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_comment_score_id'))

    op.drop_table('score_comment')
