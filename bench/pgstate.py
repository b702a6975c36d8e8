"""PostgreSQL's own background work around a measured run: checkpoints.

A checkpoint writes out every page dirtied since the last one and then fsyncs the files; while it
syncs, commits wait longer for their WAL flush (on a small VM disk, 100-300 ms). A benchmark that
seeds hundreds of thousands of rows and then loads the server at its maximum leaves such a
checkpoint pending, and whichever run comes next pays for it. `checkpoint(url)` takes it before
a run, so that the run measures the service and not the flushing of what earlier phases wrote;
`checkpoints(url)` counts the checkpoints the server has taken (any database's: the server is
shared), so a report can say how many still fell inside a run.
"""

from __future__ import annotations

import asyncio
import time


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def checkpoint(url: str) -> bool:
    """CHECKPOINT (superuser or pg_checkpoint); False where the role may not."""
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        await connection.execute("CHECKPOINT")
        return True
    except asyncpg.InsufficientPrivilegeError:
        return False
    finally:
        await connection.close()


async def checkpoints(url: str) -> int | None:
    """Checkpoints the server has started since its statistics were reset (timed and requested)."""
    import asyncpg

    connection = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        if await connection.fetchval("SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL"):
            value = await connection.fetchval("SELECT num_timed + num_requested FROM pg_stat_checkpointer")
        else:  # PostgreSQL 16 and older
            value = await connection.fetchval("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
        return int(value)
    finally:
        await connection.close()


# Sessions of the database, other than the asking one, running a statement.
_BUSY = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"
)


async def settle(url: str, seconds: float = 10.0) -> None:
    """Wait (at most `seconds`) until no other session of the database is running a statement:
    the requests a closed-loop run left in flight when its generator stopped finish before the
    next run's clock starts."""
    import asyncpg

    connection = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        deadline = time.monotonic() + seconds
        for _ in range(int(seconds / 0.05)):  # polled: there is nothing to wait on
            if not await connection.fetchval(_BUSY) or time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


def prepare_run(url: str) -> int | None:
    """Before a measured run (from a thread without an event loop): let the previous phase's
    statements finish and take the pending checkpoint; answers the checkpoint count after it."""

    async def both() -> int | None:
        await settle(url)
        await checkpoint(url)
        return await checkpoints(url)

    return asyncio.run(both())


def checkpoints_now(url: str) -> int | None:
    return asyncio.run(checkpoints(url))
