"""Cases: persons, cases, notes, plans, sessions, unit processes and the audit trail.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:13:20.301123
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_records',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('committee', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('person_id', sa.String(length=36), nullable=True),
    sa.Column('why_code', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index('ix_audit_records_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_audit_records_committee_unit_at_id', ['committee', 'unit', 'at', 'id'], unique=False)
        batch_op.create_index('ix_audit_records_person_id', ['person_id'], unique=False)

    op.create_table('persons',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('personnummer', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('protected_identity', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('personnummer', name=op.f('uq_persons_personnummer'))
    )
    op.create_table('unit_processes',
    sa.Column('committee', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('process_steps', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('committee', 'unit', name=op.f('pk_unit_processes'))
    )
    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('committee', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('intervention_id', sa.String(length=100), nullable=False),
    sa.Column('intervention_name', sa.String(length=300), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('documentation_rule', sa.String(length=40), nullable=False),
    sa.Column('subject_rule', sa.String(length=20), nullable=False),
    sa.Column('max_sessions', sa.Integer(), nullable=True),
    sa.Column('process_steps', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=20), nullable=False),
    sa.Column('registered_on', sa.String(length=20), nullable=True),
    sa.Column('person_id', sa.String(length=36), nullable=True),
    sa.Column('guardian_person_id', sa.String(length=36), nullable=True),
    sa.Column('participant_code', sa.String(length=20), nullable=True),
    sa.Column('participant_gender', sa.String(length=20), nullable=True),
    sa.Column('participant_age', sa.Integer(), nullable=True),
    sa.Column('participant_role', sa.String(length=20), nullable=True),
    sa.Column('start_wellbeing', sa.Integer(), nullable=True),
    sa.Column('start_social_situation', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('end_wellbeing', sa.Integer(), nullable=True),
    sa.Column('end_social_situation', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('participant_satisfaction', sa.Integer(), nullable=True),
    sa.Column('participant_view', sa.Text(), nullable=True),
    sa.Column('informed_of_right_to_apply', sa.Boolean(), nullable=False),
    sa.Column('informed_of_documentation', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closing_reason', sa.String(length=40), nullable=True),
    sa.Column('early_termination_reason', sa.Text(), nullable=True),
    sa.Column('session_count', sa.Integer(), nullable=False),
    sa.Column('last_entry_on', sa.Date(), nullable=False),
    sa.Column('disposal_due_on', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("identity = 'anonymous' OR person_id IS NOT NULL", name=op.f('ck_cases_identified_has_person')),
    sa.CheckConstraint("identity = 'identified' OR (person_id IS NULL AND guardian_person_id IS NULL)", name=op.f('ck_cases_anonymous_has_no_person')),
    sa.ForeignKeyConstraint(['guardian_person_id'], ['persons.id'], name=op.f('fk_cases_guardian_person_id_persons')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_cases_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('participant_code', name=op.f('uq_cases_participant_code'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_committee_unit_created_at_id', ['committee', 'unit', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_guardian_person_id'), ['guardian_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_person_id'), ['person_id'], unique=False)

    op.create_table('case_notes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)

    op.create_table('case_plans',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('drawn_up_on', sa.Date(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('time_frame', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('responsible_contact', sa.Text(), nullable=False),
    sa.Column('reason_for_seeking', sa.Text(), nullable=True),
    sa.Column('goals', sa.Text(), nullable=True),
    sa.Column('form', sa.Text(), nullable=True),
    sa.Column('frequency', sa.Text(), nullable=True),
    sa.Column('follow_up', sa.Text(), nullable=True),
    sa.Column('reason_for_closing', sa.Text(), nullable=True),
    sa.Column('personal', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_plans_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_plans'))
    )
    op.create_table('case_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_sessions_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_sessions')),
    sa.UniqueConstraint('case_id', 'number', name='uq_case_sessions_case_id_number')
    )
    with op.batch_alter_table('case_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_sessions_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_sessions_case_id'))

    op.drop_table('case_sessions')
    op.drop_table('case_plans')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_person_id'))
        batch_op.drop_index(batch_op.f('ix_cases_guardian_person_id'))
        batch_op.drop_index('ix_cases_committee_unit_created_at_id')

    op.drop_table('cases')
    op.drop_table('unit_processes')
    op.drop_table('persons')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_person_id')
        batch_op.drop_index('ix_audit_records_committee_unit_at_id')
        batch_op.drop_index('ix_audit_records_case_id')

    op.drop_table('audit_records')
