"""Authorization across units and committees: persons per committee, contacts per unit, name
versions, outbox events know their committee, idempotency keys stored as an HMAC.

Each social committee is its own controller with its own register, so a person row now belongs
to one committee (unique on committee and personnummer). Existing data moves like this:

- A person gets the committee of their earliest case (as subject or guardian). A person with
  cases in several committees is split: every further committee gets its own copy of the
  register data, and that committee's cases point at it. A person without any case belongs to
  no committee and no API can reach them (an opening registers a person in its own
  transaction, so there should be none): such rows are deleted.
- The current name keeps its value; who recorded it and when is taken from the earliest case
  of the person in the committee (its unit and `created_by`, the person's `created_at`).
- Contact details were shared by every unit with a case; now each unit records its own. A
  person's details are copied to every unit of the committee that has a case with them, so
  each unit keeps seeing what it saw. A protected person's phone and e-mail go only to the
  unit of the earliest case (the one most likely to have recorded them: fail closed); their
  address was never stored.
- Outbox events get the committee of their case or person.
- Stored idempotency keys were verbatim and scoped without the committee: they are dropped
  (they live a day; a retry across the upgrade runs afresh).

SQLite cannot drop a table constraint, so `persons` is rebuilt there (see `upgrade`).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A case concerns a person as the one it is registered on or as the guardian who takes part.
_CASE_OF_PERSON = "(c.person_id = {p}.id OR c.guardian_person_id = {p}.id)"
_PERSON_COLUMNS = [
    "id",
    "committee",
    "personnummer",
    "name",
    "name_source",
    "name_recorded_by",
    "name_recorded_unit",
    "name_recorded_at",
    "protected_identity",
    "created_at",
    "updated_at",
]
_HOLD = "_persons_before_0007"


def _earliest(table: str, column: str, *, same_committee: bool = False) -> str:
    """The value of `column` of the person's earliest case (in their committee)."""
    extra = f" AND c.committee = {table}.committee" if same_committee else ""
    return (
        f"(SELECT c.{column} FROM cases c WHERE {_CASE_OF_PERSON.format(p=table)}{extra} "
        "ORDER BY c.created_at, c.id LIMIT 1)"
    )


def _persons_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("committee", sa.String(length=64), nullable=False),
        sa.Column("personnummer", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_source", sa.String(length=20), nullable=False),
        sa.Column("name_recorded_by", sa.String(length=200), nullable=False),
        sa.Column("name_recorded_unit", sa.String(length=100), nullable=False),
        sa.Column("name_recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("protected_identity", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
        sa.UniqueConstraint("committee", "personnummer", name="uq_persons_committee_personnummer"),
    )


def _contacts_table() -> None:
    op.create_table(
        "person_contacts",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name="fk_person_contacts_person_id_persons", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", "unit", name="pk_person_contacts"),
    )


def _move_persons(bind: sa.Connection, table: str) -> None:
    """Give every person in `table` (persons, or SQLite's copy) the committee of their cases."""
    bind.execute(sa.text(f"UPDATE {table} SET committee = {_earliest(table, 'committee')}"))
    bind.execute(sa.text(f"DELETE FROM {table} WHERE committee IS NULL"))  # no case: no committee, unreachable
    # A person with cases in a further committee gets a copy of the register data there.
    extra = bind.execute(
        sa.text(
            f"SELECT DISTINCT p.id, c.committee FROM {table} p JOIN cases c ON {_CASE_OF_PERSON.format(p='p')} "
            "WHERE c.committee <> p.committee ORDER BY p.id, c.committee"
        )
    ).all()
    copied = "personnummer, name, address, phone, email, protected_identity, created_at, updated_at"
    for old_id, committee in extra:
        new_id = str(uuid.uuid4())
        bind.execute(
            sa.text(
                f"INSERT INTO {table} (id, committee, {copied}) "
                f"SELECT :new_id, :committee, {copied} FROM {table} WHERE id = :old_id"
            ),
            {"new_id": new_id, "committee": committee, "old_id": old_id},
        )
        for column in ("person_id", "guardian_person_id"):
            bind.execute(
                sa.text(f"UPDATE cases SET {column} = :new_id WHERE {column} = :old_id AND committee = :committee"),
                {"new_id": new_id, "old_id": old_id, "committee": committee},
            )
    bind.execute(
        sa.text(
            f"UPDATE {table} SET name_source = 'registration', name_recorded_at = created_at, "
            f"name_recorded_unit = {_earliest(table, 'unit', same_committee=True)}, "
            f"name_recorded_by = {_earliest(table, 'created_by', same_committee=True)}"
        )
    )


def _fill_contacts(bind: sa.Connection, source: str) -> None:
    """Every unit with a case keeps what it saw; a protected person's phone and e-mail only the first."""
    bind.execute(
        sa.text(
            "INSERT INTO person_contacts (person_id, unit, address, phone, email, recorded_by, updated_at) "
            "SELECT s.id, c.unit, s.address, s.phone, s.email, MIN(c.created_by), s.updated_at "
            f"FROM {source} s JOIN cases c ON {_CASE_OF_PERSON.format(p='s')} AND c.committee = s.committee "
            "WHERE NOT s.protected_identity "
            "AND (s.address IS NOT NULL OR s.phone IS NOT NULL OR s.email IS NOT NULL) "
            "GROUP BY s.id, c.unit, s.address, s.phone, s.email, s.updated_at"
        )
    )
    bind.execute(
        sa.text(
            "INSERT INTO person_contacts (person_id, unit, address, phone, email, recorded_by, updated_at) "
            "SELECT s.id, s.name_recorded_unit, NULL, s.phone, s.email, s.name_recorded_by, s.updated_at "
            f"FROM {source} s WHERE s.protected_identity AND (s.phone IS NOT NULL OR s.email IS NOT NULL)"
        )
    )


def upgrade() -> None:
    bind = op.get_bind()

    # --- persons: per committee, name provenance, contacts per unit --------------------------------------
    for column in (
        sa.Column("committee", sa.String(length=64), nullable=True),
        sa.Column("name_source", sa.String(length=20), nullable=True),
        sa.Column("name_recorded_by", sa.String(length=200), nullable=True),
        sa.Column("name_recorded_unit", sa.String(length=100), nullable=True),
        sa.Column("name_recorded_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("persons", column)
    if bind.dialect.name == "sqlite":
        # A table constraint cannot be dropped: move the rows to a plain copy (no constraints), do the
        # work there, swap the table and put the rows back. The cases' references are deferred until
        # commit, and each row put back resolves those the swap left open.
        # The driver opens its transaction at the first data change, and the pragma lasts only
        # within one: a change of nothing opens it first.
        bind.execute(sa.text("UPDATE persons SET committee = NULL WHERE 1 = 0"))
        bind.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
        bind.execute(sa.text(f"CREATE TABLE {_HOLD} AS SELECT * FROM persons"))
        _move_persons(bind, _HOLD)
        op.drop_table("persons")
        _persons_table("persons")
        columns = ", ".join(_PERSON_COLUMNS)
        bind.execute(sa.text(f"INSERT INTO persons ({columns}) SELECT {columns} FROM {_HOLD}"))
        _contacts_table()
        _fill_contacts(bind, _HOLD)
        op.drop_table(_HOLD)
    else:
        op.drop_constraint("uq_persons_personnummer", "persons", type_="unique")
        _move_persons(bind, "persons")
        _contacts_table()
        _fill_contacts(bind, "persons")
        op.create_unique_constraint("uq_persons_committee_personnummer", "persons", ["committee", "personnummer"])
        for name in ("committee", "name_source", "name_recorded_by", "name_recorded_unit", "name_recorded_at"):
            op.alter_column("persons", name, nullable=False)
        for name in ("address", "phone", "email"):
            op.drop_column("persons", name)

    op.create_table(
        "person_names",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_unit", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name="fk_person_names_person_id_persons", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_person_names"),
    )
    op.create_index("ix_person_names_person_id", "person_names", ["person_id"], unique=False)

    # --- outbox events know their committee ------------------------------------------------------------
    op.add_column("outbox_events", sa.Column("committee", sa.String(length=64), nullable=True))
    for aggregate, table in (("case", "cases"), ("person", "persons")):
        bind.execute(
            sa.text(
                f"UPDATE outbox_events SET committee = (SELECT t.committee FROM {table} t "
                "WHERE t.id = outbox_events.aggregate_id) WHERE aggregate_type = :aggregate"
            ),
            {"aggregate": aggregate},
        )

    # --- idempotency keys: scoped by committee too, stored as an HMAC ----------------------------------
    op.drop_table("idempotency_keys")
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(length=300), nullable=False),
        sa.Column("key_hmac", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("response_headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key_hmac", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], unique=False)


def downgrade() -> None:
    """Back to one register for all committees: refused while a personnummer is registered in more
    than one committee (merging two controllers' registers is not a schema change). Contact details
    go back to the person as the unit that changed them last recorded them."""
    bind = op.get_bind()
    shared = bind.execute(
        sa.text("SELECT COUNT(*) FROM (SELECT personnummer FROM persons GROUP BY personnummer HAVING COUNT(*) > 1) d")
    ).scalar()
    if shared:
        raise RuntimeError(f"{shared} personnummer are registered in more than one committee; not downgrading")

    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("response_headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], unique=False)

    if bind.dialect.name == "sqlite":  # native since SQLite 3.35; a rebuild would lose the partial index
        bind.execute(sa.text("ALTER TABLE outbox_events DROP COLUMN committee"))
    else:
        op.drop_column("outbox_events", "committee")
    op.drop_index("ix_person_names_person_id", table_name="person_names")
    op.drop_table("person_names")

    latest = (
        "(SELECT pc.{column} FROM person_contacts pc WHERE pc.person_id = persons.id "
        "ORDER BY pc.updated_at DESC LIMIT 1)"
    )
    for column, length in (("address", 300), ("phone", 40), ("email", 254)):
        op.add_column("persons", sa.Column(column, sa.String(length=length), nullable=True))
        bind.execute(sa.text(f"UPDATE persons SET {column} = {latest.format(column=column)}"))
    op.drop_table("person_contacts")
    if bind.dialect.name == "sqlite":
        bind.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
        bind.execute(sa.text("CREATE TABLE _persons_before_0005 AS SELECT * FROM persons"))
        op.drop_table("persons")
        op.create_table(
            "persons",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("personnummer", sa.String(length=12), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("address", sa.String(length=300), nullable=True),
            sa.Column("phone", sa.String(length=40), nullable=True),
            sa.Column("email", sa.String(length=254), nullable=True),
            sa.Column("protected_identity", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_persons"),
            sa.UniqueConstraint("personnummer", name="uq_persons_personnummer"),
        )
        columns = "id, personnummer, name, address, phone, email, protected_identity, created_at, updated_at"
        bind.execute(sa.text(f"INSERT INTO persons ({columns}) SELECT {columns} FROM _persons_before_0005"))
        op.drop_table("_persons_before_0005")
    else:
        op.drop_constraint("uq_persons_committee_personnummer", "persons", type_="unique")
        op.create_unique_constraint("uq_persons_personnummer", "persons", ["personnummer"])
        for name in ("committee", "name_source", "name_recorded_by", "name_recorded_unit", "name_recorded_at"):
            op.drop_column("persons", name)
