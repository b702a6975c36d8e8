"""`iub disposal run`: a dry run changes nothing, a run executes approved lists, a second does nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from app.core.db import Database
from app.disposal.service import DisposalService
from tests.disposal.scenario import caller
from tests.disposal.support import Seed, official_personnummer
from tests.integration.test_cli import iub

AS_OF = "2026-06-01"


async def test_disposal_run_command(db: Database, database_url: str, tmp_path: Path) -> None:
    pnrs = official_personnummer()
    seed = Seed()
    for n in range(3):
        person = seed.person("sn-sydvast", pnrs[200 + n], f"Qz{n}x")
        seed.case("sn-sydvast", "unit-a", person_id=person, last_entry_on=dt.date(2019, 1, 1), pnr=pnrs[200 + n])
    async with db.sessions() as session, session.begin():
        await seed.write(session)
    async with db.sessions() as session, session.begin():
        listed = await DisposalService(session, caller("sn-sydvast", "anna")).propose(dt.date.fromisoformat(AS_OF))
        list_id, digest = listed.id, listed.digest
    async with db.sessions() as session, session.begin():
        await DisposalService(session, caller("sn-sydvast", "bo")).approve(list_id, digest)
    env = {"IUB_DATABASE_URL": database_url, "IUB_ARCHIVE_DIR": str(tmp_path / "archive")}

    dry = iub("disposal", "run", "--dry-run", "--as-of", AS_OF, **env)
    assert dry.returncode == 0, dry.stderr
    assert "would remove 3 file(s)" in dry.stdout
    early = iub("disposal", "run", "--as-of", "2026-05-31", **env)
    assert "no approved disposal list due by 2026-05-31" in early.stdout

    done = iub("disposal", "run", "--as-of", AS_OF, "--batch-size", "2", **env)
    assert done.returncode == 0, done.stderr
    assert "removed 3 file(s)" in done.stdout and "certificate: run" in done.stdout
    again = iub("disposal", "run", "--as-of", AS_OF, **env)
    assert "no approved disposal list due" in again.stdout
    bad = iub("disposal", "run", "--as-of", "01/06/2026", **env)
    assert bad.returncode == 2


async def test_the_worker_runs_approved_lists_daily(db: Database, database_url: str, tmp_path: Path) -> None:
    import asyncio

    from app.disposal.models import DisposalListRow
    from app.disposal.schedule import run_daily
    from tests.conftest import make_settings

    pnrs = official_personnummer()
    seed = Seed()
    person = seed.person("sn-sydvast", pnrs[210], "Qz9x")
    seed.case("sn-sydvast", "unit-a", person_id=person, last_entry_on=dt.date(2019, 1, 1), pnr=pnrs[210])
    async with db.sessions() as session, session.begin():
        await seed.write(session)
    async with db.sessions() as session, session.begin():
        listed = await DisposalService(session, caller("sn-sydvast", "anna")).propose(dt.date(2026, 1, 1))
        list_id, digest = listed.id, listed.digest
    async with db.sessions() as session, session.begin():
        await DisposalService(session, caller("sn-sydvast", "bo")).approve(list_id, digest)

    stop = asyncio.Event()
    settings = make_settings(database_url, archive_dir=tmp_path / "archive")
    task = asyncio.create_task(run_daily(db, settings, stop))
    for _ in range(200):
        async with db.sessions() as session:
            status = await session.scalar(select(DisposalListRow.status).where(DisposalListRow.id == list_id))
        if status == "executed":
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert status == "executed"
