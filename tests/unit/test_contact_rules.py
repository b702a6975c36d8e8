"""Contact details recorded per unit: what another unit with a case sees, and what the journal system gets."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.cases.protection import Contact, contacts_shown, journal_contact

EARLY = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)
LATE = dt.datetime(2026, 9, 2, 8, tzinfo=dt.UTC)
A = Contact("unit-a", "Provgatan 3", "070-174 06 10", "a@example.com", EARLY)
B = Contact("unit-b", None, "070-174 06 11", None, LATE)
C = Contact("unit-c", None, None, None, LATE)


def test_a_unit_sees_its_own_record_and_the_other_units_newest_first():
    own, others = contacts_shown("unit-c", [A, B, C], protected=False)
    assert own == C
    assert others == [B, A]  # an empty record is not shown


def test_osl_22_1_protected_persons_phone_and_email_shown_only_to_the_recording_unit():
    own, others = contacts_shown("unit-b", [A, B], protected=True)
    assert others == []
    assert own is not None and (own.phone, own.email) == ("070-174 06 11", None)
    own_a, _ = contacts_shown("unit-a", [A, B], protected=True)
    assert own_a is not None and own_a.address is None  # never an address, even the own unit's


def test_the_journal_system_gets_the_changing_units_value_else_the_latest_other():
    assert journal_contact("unit-b", [A, B], protected=False) == Contact(
        "unit-b", "Provgatan 3", "070-174 06 11", "a@example.com"
    )
    later_a = Contact("unit-a", None, "070-174 06 12", None, LATE + dt.timedelta(hours=1))
    sent = journal_contact("unit-c", [later_a, B, C], protected=False)
    assert (sent.phone, sent.address) == ("070-174 06 12", None)  # the newest other record first


def test_osl_22_1_the_journal_system_never_gets_a_protected_persons_address():
    assert journal_contact("unit-a", [A], protected=True).address is None


values = st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))
records = st.builds(
    Contact,
    unit=st.sampled_from(["unit-a", "unit-b", "unit-c"]),
    address=values,
    phone=values,
    email=values,
    recorded_at=st.datetimes(timezones=st.just(dt.UTC)),
)


@given(st.lists(records, max_size=6, unique_by=lambda c: c.unit), st.booleans())
def test_nothing_is_shown_that_no_unit_recorded_and_protection_hides_every_other_unit(contacts, protected):
    own, others = contacts_shown("unit-a", contacts, protected=protected)
    assert all(c.unit != "unit-a" and c in contacts for c in others)
    if protected:
        assert others == [] and (own is None or own.address is None)
    sent = journal_contact("unit-a", contacts, protected=protected)
    for name in ("address", "phone", "email"):
        recorded = {getattr(c, name) for c in contacts} - {None}
        assert getattr(sent, name) in recorded | {None}
        assert (getattr(sent, name) is None) == (not recorded or (protected and name == "address"))
