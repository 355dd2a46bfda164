"""information management assessment

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ima_framework',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('toml', sa.Text(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('loaded_by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ima_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('assessor', sa.String(length=320), nullable=True),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('loaded_by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ima_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('sub_area', sa.String(length=64), nullable=False),
    sa.Column('rating', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['ima_assessment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assessment_id', 'sub_area')
    )
    with op.batch_alter_table('ima_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ima_rating_assessment_id'), ['assessment_id'], unique=False)

    op.create_table('ima_narrative',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=False),
    sa.Column('situation', sa.Text(), nullable=False),
    sa.Column('progress', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['ima_assessment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assessment_id', 'area')
    )
    with op.batch_alter_table('ima_narrative', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ima_narrative_assessment_id'), ['assessment_id'], unique=False)

    op.create_table('ima_recommendation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=False),
    sa.Column('sub_area', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=True),
    sa.Column('repeated_at_id', sa.Integer(), nullable=True),
    sa.Column('next_step', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['ima_assessment.id'], ),
    sa.ForeignKeyConstraint(['repeated_at_id'], ['ima_assessment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ima_recommendation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ima_recommendation_assessment_id'), ['assessment_id'], unique=False)

    op.create_table('ima_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=320), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('commentary', sa.Text(), nullable=False),
    sa.Column('closed_by', sa.String(length=320), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['recommendation_id'], ['ima_recommendation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ima_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ima_action_recommendation_id'), ['recommendation_id'], unique=False)


def downgrade() -> None:
    for table in ('ima_action', 'ima_recommendation', 'ima_narrative', 'ima_rating'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_' + ('recommendation_id' if table == 'ima_action'
                                                              else 'assessment_id')))
        op.drop_table(table)
    op.drop_table('ima_assessment')
    op.drop_table('ima_framework')
