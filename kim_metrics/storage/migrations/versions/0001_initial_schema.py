"""initial schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('criteria_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('toml', sa.Text(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('loaded_by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('directorate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('group_name', sa.String(length=200), nullable=False),
    sa.Column('director_email', sa.String(length=320), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('criteria_version_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['criteria_version_id'], ['criteria_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('label')
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('directorate_id', sa.Integer(), nullable=False),
    sa.Column('information_managers', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['directorate_id'], ['directorate.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('directorate_id', 'name')
    )
    op.create_table('return',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('file_hash', sa.String(length=64), nullable=False),
    sa.Column('uploader', sa.String(length=320), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('layout', sa.String(length=20), nullable=False),
    sa.Column('team_count', sa.Integer(), nullable=False),
    sa.Column('score_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('return', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_file_hash'), ['file_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_round_id'), ['round_id'], unique=False)

    op.create_table('score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sa.String(length=64), nullable=False),
    sa.Column('claimed_raw', sa.Text(), nullable=False),
    sa.Column('claimed', sa.Float(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('evidence_link', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('review_status', sa.String(length=20), nullable=False),
    sa.Column('reviewed_value', sa.Float(), nullable=True),
    sa.Column('reviewer', sa.String(length=320), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['return_id'], ['return.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_return_id'), ['return_id'], unique=False)
        batch_op.create_index('ix_score_round_current', ['round_id', 'current'], unique=False)
        batch_op.create_index('ix_score_team', ['team_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.drop_index('ix_score_team')
        batch_op.drop_index('ix_score_round_current')
        batch_op.drop_index(batch_op.f('ix_score_return_id'))

    op.drop_table('score')
    with op.batch_alter_table('return', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_round_id'))
        batch_op.drop_index(batch_op.f('ix_return_file_hash'))

    op.drop_table('return')
    op.drop_table('team')
    op.drop_table('round')
    op.drop_table('directorate')
    op.drop_table('criteria_version')
