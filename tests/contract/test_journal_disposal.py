"""Gallring in the journal-system contract: the disposal fields of a closing and a later change.

Every request the adapter sends and every simulator response validates against the contract
(the rig's transport checks each exchange).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from app.disposal.rules import DisposalAction, RetentionBasis
from app.journal import events
from app.journal.port import CaseDisposal, JournalPermanentError
from tests.contract.test_journal_contract import CLOSING, Rig, new_key, open_case

FULL_CLOSING = dataclasses.replace(
    CLOSING,
    disposal_deadline_on=dt.date(2031, 12, 31),
    disposal_action=DisposalAction.ARCHIVE_TRANSFER,
    retention_basis=RetentionBasis.SOL_16_1,
)
REOPENED = CaseDisposal(None, None, DisposalAction.ARCHIVE_TRANSFER, RetentionBasis.SOL_16_1)
MOVED = CaseDisposal(dt.date(2031, 6, 1), dt.date(2032, 12, 31), DisposalAction.DESTROY, RetentionBasis.SOL_16_1)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    yield r
    await r.client.aclose()
    assert r.transport.errors() == []


async def test_closing_carries_the_disposal_dates_and_action(rig: Rig) -> None:
    _, case_ref = await open_case(rig.journal)
    await rig.journal.close_case(new_key(), case_ref, FULL_CLOSING)
    [case] = (await rig.state())["cases"]
    closing = case["closing"]
    assert (closing["disposal_due_on"], closing["disposal_deadline_on"]) == ("2030-11-20", "2031-12-31")
    assert (closing["disposal_action"], closing["retention_basis"]) == ("archive_transfer", "sol_16_1")


async def test_closing_while_another_case_of_the_file_is_open_has_no_date(rig: Rig) -> None:
    _, case_ref = await open_case(rig.journal)
    no_date = dataclasses.replace(FULL_CLOSING, disposal_due_on=None, disposal_deadline_on=None)
    await rig.journal.close_case(new_key(), case_ref, no_date)
    [case] = (await rig.state())["cases"]
    assert case["closing"]["disposal_due_on"] is None


async def test_a_change_of_the_date_reaches_the_closed_case(rig: Rig) -> None:
    _, case_ref = await open_case(rig.journal)
    await rig.journal.close_case(new_key(), case_ref, FULL_CLOSING)
    await rig.journal.set_disposal(new_key(), case_ref, REOPENED)
    [case] = (await rig.state())["cases"]
    assert case["closing"]["disposal_due_on"] is None and case["closing"]["closed_on"] == "2025-11-20"
    await rig.journal.set_disposal(new_key(), case_ref, MOVED)
    [case] = (await rig.state())["cases"]
    assert (case["closing"]["disposal_due_on"], case["closing"]["disposal_action"]) == ("2031-06-01", "destroy")
    assert case["history"][-2:] == ["disposal", "disposal"]


async def test_a_change_for_an_open_case_is_permanent(rig: Rig) -> None:
    _, case_ref = await open_case(rig.journal)
    with pytest.raises(JournalPermanentError) as refused:
        await rig.journal.set_disposal(new_key(), case_ref, MOVED)
    assert refused.value.status == 409


def test_the_outbox_codec_round_trips_the_disposal() -> None:
    payload = {"case_id": "c", "disposal": events._json(MOVED)}
    assert events.read_disposal(payload) == MOVED
    closing = {"case_id": "c", "closing": events._json(FULL_CLOSING)}
    assert events.read_closing(closing) == FULL_CLOSING
    # An event written before the disposal fields existed still reads.
    old = {
        "case_id": "c",
        "closing": {"closed_on": "2025-11-20", "reason": "completed", "disposal_due_on": "2030-11-20"},
    }
    assert events.read_closing(old).disposal_action is None


async def test_an_event_from_before_the_disposal_fields_sends_the_same_request(rig: Rig) -> None:
    # A retry of a closing written before the fields existed must repeat its first request exactly.
    _, case_ref = await open_case(rig.journal)
    await rig.journal.close_case(new_key(), case_ref, CLOSING)
    sent = rig.transport.exchanges[-1].request_body
    assert b"disposal_action" not in sent and b"disposal_due_on" in sent
