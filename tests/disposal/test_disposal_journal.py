"""The journal system is told when our copy of a case goes: `case.disposed` through the outbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from app.core.db import Database
from app.disposal.execution import DisposalRunner
from app.journal.models import JournalLink, OutboxEvent
from tests.conftest import make_settings
from tests.disposal import scenario as sc
from tests.disposal.support import Seed, official_personnummer
from tests.integration.outbox_support import case_events, dispatcher, drain, in_process_simulator, insert_events


async def test_a_disposed_case_is_reported_to_the_journal_system(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    sim = in_process_simulator()
    pnr = official_personnummer()[300]
    seed = Seed()
    person = seed.person("sn-goteborg", pnr, "Qz1x")
    case_id = seed.case(
        "sn-goteborg", "unit-a", person_id=person, last_entry_on=dt.date(2019, 5, 1), pnr=pnr, journal=False
    )
    async with db.sessions() as session, session.begin():
        await seed.write(session)
    await insert_events(db, case_events(0, case_id), committee="sn-goteborg")
    await drain(dispatcher(db, sim.journal))
    async with db.sessions() as session:
        link = await session.get(JournalLink, ("case", case_id))
    assert link is not None and link.external_ref
    case_ref = link.external_ref

    await sc.propose_and_approve(db, "sn-goteborg")
    settings = make_settings(database_url, archive_dir=tmp_path)
    [report] = await DisposalRunner(db, settings, policies=sc.policies).run(as_of=sc.AS_OF)
    assert report.files_done == 1 and len(report.packages) == 1
    async with db.sessions() as session:
        [event] = (await session.scalars(select(OutboxEvent))).all()
    assert (event.kind, event.aggregate_type, event.status) == ("case.disposed", "disposal", "pending")
    assert pnr not in str(event.payload) and "Qz1x" not in str(event.payload)

    assert await drain(dispatcher(db, sim.journal)) == 1
    state = await sim.state()
    [journal_case] = [c for c in state["cases"] if c["case_ref"] == case_ref]
    assert journal_case["disposed"] == {
        "disposed_on": journal_case["disposed"]["disposed_on"],
        "action": "archive_transfer",
        "rule": "sol_16_4_research_all",
        "archive_package": report.packages[0],
    }
    assert journal_case["history"][-1] == "disposed"
    async with db.sessions() as session:
        links = (
            await session.scalars(select(JournalLink.aggregate_id).where(JournalLink.aggregate_id == case_id))
        ).all()
        assert links == []  # the case's link went with it and does not come back
        [delivered] = (await session.scalars(select(OutboxEvent))).all()
    assert delivered.status == "delivered"
    await sim.aclose()
