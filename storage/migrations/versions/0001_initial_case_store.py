"""The initial case store: people, categories, photos, drafts, cases, events, followers, outbox.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('case_counters',
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_case_counters'))
    )
    op.create_table('categories',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('time_limit_hours', sa.Integer(), nullable=False),
    sa.Column('handling_level', sa.String(length=16), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['categories.code'], name=op.f('fk_categories_parent_code_categories')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_categories'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tg_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('language_chosen', sa.Boolean(), nullable=False),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('awaiting', sa.String(length=32), nullable=True),
    sa.Column('awaiting_ref', sa.Integer(), nullable=True),
    sa.Column('hints', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('tg_id', name=op.f('uq_people_tg_id'))
    )
    op.create_table('photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('mime', sa.String(length=40), nullable=False),
    sa.Column('channel_file_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
    sa.UniqueConstraint('sha256', name=op.f('uq_photos_sha256'))
    )
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('category_code', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('location_verified', sa.Boolean(), nullable=False),
    sa.Column('location_source', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_cases_category_code_categories')),
    sa.ForeignKeyConstraint(['reporter_id'], ['people.id'], name=op.f('fk_cases_reporter_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_category_state', ['category_code', 'state'], unique=False)
        batch_op.create_index('ix_cases_lat', ['lat'], unique=False)
        batch_op.create_index('ix_cases_reporter_created', ['reporter_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_state'), ['state'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_outbox_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_due', ['status', 'not_before'], unique=False)

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_case_events_actor_id_people')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_case_at', ['case_id', 'at'], unique=False)

    op.create_table('case_followers',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_followers_case_id_cases')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_case_followers_person_id_people')),
    sa.PrimaryKeyConstraint('case_id', 'person_id', name=op.f('pk_case_followers'))
    )
    with op.batch_alter_table('case_followers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_followers_person_id'), ['person_id'], unique=False)

    op.create_table('report_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('location_source', sa.String(length=12), nullable=True),
    sa.Column('exif_lat', sa.Float(), nullable=True),
    sa.Column('exif_lon', sa.Float(), nullable=True),
    sa.Column('category_code', sa.String(length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('description_done', sa.Boolean(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('last_media_group', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_report_drafts_case_id_cases')),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_report_drafts_category_code_categories')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_report_drafts_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_drafts'))
    )
    with op.batch_alter_table('report_drafts', schema=None) as batch_op:
        batch_op.create_index('ix_report_drafts_person_status', ['person_id', 'status'], unique=False)

    op.create_table('case_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by'], ['people.id'], name=op.f('fk_case_photos_added_by_people')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_photos_case_id_cases')),
    sa.ForeignKeyConstraint(['event_id'], ['case_events.id'], name=op.f('fk_case_photos_event_id_case_events')),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_case_photos_photo_id_photos')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_photos')),
    sa.UniqueConstraint('case_id', 'photo_id', 'role', name=op.f('uq_case_photos_case_id'))
    )
    with op.batch_alter_table('case_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_photos_case_id'), ['case_id'], unique=False)

    op.create_table('draft_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['report_drafts.id'], name=op.f('fk_draft_photos_draft_id_report_drafts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_draft_photos_photo_id_photos')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_photos')),
    sa.UniqueConstraint('draft_id', 'photo_id', name=op.f('uq_draft_photos_draft_id'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('draft_photos')
    with op.batch_alter_table('case_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_photos_case_id'))

    op.drop_table('case_photos')
    with op.batch_alter_table('report_drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_report_drafts_person_status')

    op.drop_table('report_drafts')
    with op.batch_alter_table('case_followers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_followers_person_id'))

    op.drop_table('case_followers')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case_at')

    op.drop_table('case_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_due')

    op.drop_table('outbox')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_state'))
        batch_op.drop_index('ix_cases_reporter_created')
        batch_op.drop_index('ix_cases_lat')
        batch_op.drop_index('ix_cases_category_state')

    op.drop_table('cases')
    op.drop_table('photos')
    op.drop_table('people')
    op.drop_table('categories')
    op.drop_table('case_counters')
