"""The outbox dispatcher: delivers journal-system events in order, exactly once as the journal sees it.

One cycle (`run_once`) claims a batch, delivers it and completes it:

1. **Claim** (one short transaction: three statements, plus one read of the claimed aggregates'
   known refs from `journal_links`):

   a. the *heads*: per aggregate (case or person), the lowest-`seq` event that is not
      delivered, if it is due. On PostgreSQL::

          SELECT seq, id, aggregate_type, aggregate_id, kind, payload, attempts, status
          FROM outbox_events AS e
          WHERE e.status IN ('pending', 'in_flight')           -- ix_outbox_events_open_seq
            AND ((e.status = 'pending' AND e.next_attempt_at <= :now)
                 OR (e.status = 'in_flight' AND e.lease_expires_at <= :now))
            AND NOT EXISTS (SELECT 1 FROM outbox_events AS p    -- ix_outbox_events_aggregate_id_seq
                            WHERE p.aggregate_id = e.aggregate_id AND p.seq < e.seq
                              AND p.status NOT IN ('delivered', 'skipped'))
          ORDER BY e.seq LIMIT :batch_size
          FOR UPDATE OF e SKIP LOCKED

      The partial index holds only undelivered events, so the scan never walks the delivered
      history; the anti-join is one index probe per candidate. Statuses are SQL literals (not
      parameters) so the planner can prove the partial index's predicate in generic plans.

   b. the *runs*: the events after each claimed head, `SELECT ... WHERE aggregate_id =
      ANY(:aggregates) AND status NOT IN ('delivered', 'skipped') ORDER BY aggregate_id, seq
      FOR UPDATE` (no SKIP LOCKED: holding an aggregate's head makes us the only claimer of its
      later events, so this never waits on another claimer). The statuses are literals here too,
      and nothing bounds `seq`: with statuses as parameters a generic plan (asyncpg prepares,
      PostgreSQL goes generic after five runs) cannot prove the partial index's predicate and
      walked the primary key over the whole backlog, testing each row against the 200 ids — a
      claim that cost in proportion to the backlog (170 ms at 25,000 events, most of a
      100,000-event drain's database time). In Python each run is cut at the
      first event that is not claimable, and at `max_run` events. A head whose lease expired
      runs alone (see "Attempts" below).

   c. the lease: `UPDATE ... SET status = 'in_flight', lease_token = :token, lease_expires_at
      = :now + lease_seconds WHERE seq = ANY(:seqs)`; and `attempts = attempts + 1` for the
      heads whose lease expired.

   SQLite runs the same statements without the locking clauses: one worker only.

2. **Deliver**: aggregates concurrently (at most `concurrency` at once, asyncio); the events
   of one aggregate strictly one after the other. A run stops at the first failure; the
   events after it are *released* (back to pending, no attempt counted). A run also stops
   when the lease would expire before the next event could finish (`event_timeout`), so a
   slow journal system never makes us act on an expired lease.

3. **Complete** (one transaction): first `SELECT seq ... WHERE seq = ANY(:seqs) AND lease_token
   = :token ORDER BY seq FOR UPDATE` — the rows we still own, locked in `seq` order (the order
   claimers lock in, so completions and claims cannot deadlock); a worker whose lease expired
   and whose events another worker took owns nothing and writes nothing. Then one statement
   per outcome group (`delivered`, `released`: `UPDATE ... WHERE seq = ANY(:seqs) AND
   lease_token = :token`; retries and dead letters with their own times and errors:
   executemany), and the `JournalLink` rows (refs and sync state) with an upsert.

Ordering guarantees:

- Per aggregate, event n+1 is never sent before event n has been delivered: only a head is
  claimed on its own, later events only in the same claim behind it, and a run stops at the
  first failure.
- A **dead head blocks its aggregate** (later events wait, the link shows `failed`) until an
  operator retries it (`POST /v1/outbox/{event_id}/retry`, optionally re-encoding its payload)
  or skips it (`POST /v1/outbox/{event_id}/skip`, with a reason; a `skipped` event counts as
  finished, like a delivered one); sending later events of a case whose registration or an
  entry never arrived, without anyone deciding so, would misrepresent the case.
- Events of different aggregates have no order between them. `person.updated` waits
  (transiently) until the person's ref is known from a delivered registration.

Exactly once: a delivery may be repeated (lost response, crash, expired lease), always with the
event id as the idempotency key (`JournalSystem` derives its per-request keys from it), so the
journal system applies each write once.

Attempts count deliveries tried, and a lease that expired counts as one: its worker died or
stalled while delivering. So an event that crashes its worker on every attempt (a poison
event) is dead-lettered after `max_attempts` like any other (`last_error` "LeaseExpired (after
n attempts)"), instead of taking every worker down forever. Which event of a crashed run
crashed is unknown, so a head whose lease expired is claimed *alone*: the run's events are
tried one at a time, each counting the crashed run as one attempt, and the crash is charged
to the event that causes it.

Retries: transient errors back off exponentially with full jitter — `uniform(0, min(cap, base *
2**(attempts-1)))` — and never sooner than the journal system's Retry-After; after
`max_attempts` attempts, or at once on a permanent error, the event is dead-lettered.
`last_error` holds the error class, HTTP status and problem type only — never payload data.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import DateTime, Integer, String, Table, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from app.core.db import Database, JsonDoc
from app.core.tracing import delivery_context
from app.journal import events
from app.journal.events import EventKind
from app.journal.metrics import record_outcomes
from app.journal.models import UNFINISHED_EVENTS, JournalLink, OutboxEvent
from app.journal.port import (
    JournalError,
    JournalPermanentError,
    JournalSystem,
    JournalTransientError,
    derive_key,
)
from app.kit.clock import now as utcnow

log = logging.getLogger("iub.journal.dispatcher")

EVENTS = cast(Table, OutboxEvent.__table__)
LINKS = cast(Table, JournalLink.__table__)

OutcomeKind = Literal["delivered", "retry", "dead", "released"]

_HEADS_SQL = """
SELECT e.seq, e.id, e.aggregate_type, e.aggregate_id, e.kind, e.payload, e.attempts, e.status
FROM outbox_events AS e
WHERE e.status IN ('pending', 'in_flight')
  AND ((e.status = 'pending' AND e.next_attempt_at <= :now)
       OR (e.status = 'in_flight' AND e.lease_expires_at <= :now))
  AND NOT EXISTS (
    SELECT 1 FROM outbox_events AS p
    WHERE p.aggregate_id = e.aggregate_id AND p.seq < e.seq AND p.status NOT IN ('delivered', 'skipped')
  )
ORDER BY e.seq
LIMIT :batch_size
"""

# For the claim's transaction only: no sort, no hash or merge join unless there is no other way.
# With stale statistics (autovacuum off, or a young database) PostgreSQL planned the heads as a
# join of every unfinished event, sorted, then cut to the batch: a claim costing in proportion to
# the backlog. Without sorts and those joins the one plan left is the one meant: the open events
# in `seq` order off their partial index, each probed on the index by aggregate, stopping when
# the batch is full.
_PLANNER = text(
    "SELECT set_config('enable_sort', 'off', true), set_config('enable_hashjoin', 'off', true), "
    "set_config('enable_mergejoin', 'off', true)"
)

_ROW_COLUMNS: dict[str, TypeEngine[Any]] = {
    "seq": Integer(),
    "id": String(),
    "aggregate_type": String(),
    "aggregate_id": String(),
    "kind": String(),
    "payload": JsonDoc,
    "attempts": Integer(),
    "status": String(),
}


@dataclass(slots=True)
class ClaimedEvent:
    seq: int
    id: str
    aggregate_type: str
    aggregate_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    reclaimed: bool = False  # its previous lease expired (a worker died or stalled)


@dataclass(slots=True)
class Outcome:
    event: ClaimedEvent
    kind: OutcomeKind
    next_attempt_at: dt.datetime | None = None
    error: str | None = None
    counted: bool = False  # the attempt was already counted (an expired lease, at the claim)


@dataclass(slots=True)
class Claim:
    token: str
    expires_at: dt.datetime
    runs: dict[tuple[str, str], list[ClaimedEvent]]  # (aggregate_type, aggregate_id) -> events in order
    refs: dict[tuple[str, str], str] = field(default_factory=dict)  # known JournalLink refs

    @property
    def size(self) -> int:
        return sum(len(run) for run in self.runs.values())


@dataclass(slots=True)
class _Refs:
    """References learnt while delivering, written to `JournalLink` on completion."""

    found: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(slots=True)
class CycleResult:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    lease_lost: int = 0


def error_code(exc: BaseException) -> str:
    """What `last_error` keeps: the class, HTTP status and problem type — never a message."""
    parts = [type(exc).__name__]
    if isinstance(exc, JournalError):
        if exc.status is not None:
            parts.append(f"HTTP {exc.status}")
        if exc.problem_type:
            parts.append(exc.problem_type[:200])
        cause = exc.__cause__
        if exc.status is None and cause is not None:
            parts.append(type(cause).__name__)
    return " ".join(parts)


class Dispatcher:
    """Claims, delivers and completes outbox events; see the module docstring."""

    def __init__(
        self,
        db: Database,
        journal: JournalSystem,
        *,
        worker_id: str | None = None,
        batch_size: int = 200,
        concurrency: int = 32,
        lease_seconds: float = 60.0,
        max_attempts: int = 12,
        backoff_base: float = 0.5,
        backoff_cap: float = 300.0,
        event_timeout: float = 15.0,
        max_run: int = 100,
        poll_interval: float = 1.0,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        if lease_seconds <= event_timeout:
            raise ValueError("lease_seconds must exceed event_timeout")
        self.db = db
        self.journal = journal
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.event_timeout = event_timeout
        self.max_run = max_run
        self.poll_interval = poll_interval
        self.clock = clock
        self.rng = rng or random.Random()
        self.last_cycle = CycleResult()
        self.stopping = False  # set on shutdown: runs not yet started are released, not begun

    # The loop --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim a batch, deliver it, complete it; the number of events delivered."""
        claim = await self.claim()
        if claim is None:
            self.last_cycle = CycleResult()
            return 0
        outcomes, refs = await self.deliver(claim)
        self.last_cycle = await self.complete(claim, outcomes, refs)
        return self.last_cycle.delivered

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Cycle until `stop` is set. Sleeps `poll_interval` when a batch was not full; backs off on
        database errors. When `stop` is set mid-cycle (SIGTERM), the requests in flight finish,
        the events not yet begun are released (back to pending, no attempt counted) and the cycle
        completes: nothing is lost and no lease is left to expire."""
        watcher = asyncio.create_task(self._watch(stop))
        try:
            await self._cycles(stop)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.stopping = True

    async def _cycles(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self.run_once()
                failures = 0
            except Exception:  # the database may be down: keep the worker alive
                failures += 1
                log.exception("outbox cycle failed", extra={"worker": self.worker_id, "failures": failures})
                await _wait(stop, min(30.0, self.poll_interval * 2 ** min(failures, 5)))
                continue
            if self.last_cycle.claimed < self.batch_size:
                await _wait(stop, self.poll_interval)

    # 1. Claim --------------------------------------------------------------------------

    async def claim(self) -> Claim | None:
        now = self.clock()
        token = str(uuid.uuid4())
        expires_at = now + dt.timedelta(seconds=self.lease_seconds)
        pg = self.db.is_postgresql
        async with self.db.sessions() as session, session.begin():
            if pg:  # plans that hold without statistics (see _PLANNER)
                await session.execute(_PLANNER)
            heads_sql = _HEADS_SQL + ("FOR UPDATE OF e SKIP LOCKED" if pg else "")
            heads_stmt = (
                text(heads_sql)
                .bindparams(bindparam("now", type_=DateTime(timezone=True)), bindparam("batch_size"))
                .columns(**_ROW_COLUMNS)
            )
            heads = (await session.execute(heads_stmt, {"now": now, "batch_size": self.batch_size})).all()
            if not heads:
                return None
            runs: dict[tuple[str, str], list[ClaimedEvent]] = {}
            for row in heads:
                runs[(row.aggregate_type, row.aggregate_id)] = [_claimed(row)]
            head_seq = {agg_id: seqs[0].seq for (_, agg_id), seqs in runs.items()}
            # A head whose lease expired runs alone, so a crash is charged to the event causing it.
            reclaimed = [run[0] for run in runs.values() if run[0].reclaimed]
            cut: set[str] = {event.aggregate_id for event in reclaimed}
            followers = (
                select(*(EVENTS.c[name] for name in _ROW_COLUMNS), EVENTS.c.next_attempt_at, EVENTS.c.lease_expires_at)
                .where(_in(EVENTS.c.aggregate_id, list(head_seq), pg), UNFINISHED_EVENTS)
                .order_by(EVENTS.c.aggregate_id, EVENTS.c.seq)
                .with_for_update(of=EVENTS)
            )
            for row in (await session.execute(followers)).all():
                key = (row.aggregate_type, row.aggregate_id)
                run = runs.get(key)
                if run is None or row.seq <= head_seq[row.aggregate_id] or row.aggregate_id in cut:
                    continue
                if len(run) >= self.max_run or not _claimable(row, now):
                    cut.add(row.aggregate_id)
                    continue
                run.append(_claimed(row))
            seqs = [event.seq for run in runs.values() for event in run]
            await session.execute(
                update(EVENTS)
                .where(_in(EVENTS.c.seq, seqs, pg))
                .values(status="in_flight", lease_token=token, lease_expires_at=expires_at)
            )
            if reclaimed:
                # The expired lease was an attempt (its worker died or stalled delivering it).
                await session.execute(
                    update(EVENTS)
                    .where(_in(EVENTS.c.seq, [event.seq for event in reclaimed], pg))
                    .values(attempts=EVENTS.c.attempts + 1)
                )
                for event in reclaimed:
                    event.attempts += 1
            claim = Claim(token, expires_at, runs)
            claim.refs = await _known_refs(session, runs, pg)
        return claim

    # 2. Deliver ------------------------------------------------------------------------

    async def deliver(self, claim: Claim) -> tuple[list[Outcome], _Refs]:
        refs = _Refs()
        semaphore = asyncio.Semaphore(self.concurrency)
        # Leave time to complete before the lease runs out.
        deadline = claim.expires_at - dt.timedelta(seconds=self.event_timeout + min(5.0, self.lease_seconds / 10))

        async def one(key: tuple[str, str], run: list[ClaimedEvent]) -> list[Outcome]:
            async with semaphore:
                return await self._deliver_run(claim, key, run, refs, deadline)

        results = await asyncio.gather(*(one(key, run) for key, run in claim.runs.items()))
        return [outcome for run_outcomes in results for outcome in run_outcomes], refs

    async def _deliver_run(
        self,
        claim: Claim,
        key: tuple[str, str],
        run: list[ClaimedEvent],
        refs: _Refs,
        deadline: dt.datetime,
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for index, event in enumerate(run):
            if self.stopping or self.clock() > deadline:
                outcomes.extend(Outcome(rest, "released") for rest in run[index:])
                break
            if event.reclaimed and event.attempts >= self.max_attempts:
                # A poison event: every worker that tried it died before finishing.
                error = f"LeaseExpired (after {event.attempts} attempts)"
                log.error("outbox event dead-lettered after expired leases", extra={"event_id": event.id})
                outcomes.append(Outcome(event, "dead", error=error, counted=True))
                outcomes.extend(Outcome(rest, "released") for rest in run[index + 1 :])
                break
            try:
                with delivery_context(event.id, event.kind):
                    async with asyncio.timeout(self.event_timeout):  # no task per event, unlike wait_for
                        await self._send(claim, key, event, refs)
            except (JournalTransientError, TimeoutError) as exc:
                outcomes.append(self._transient(event, exc))
            except JournalPermanentError as exc:
                outcomes.append(Outcome(event, "dead", error=error_code(exc)))
            except Exception as exc:  # a bug or an unreadable payload: it will not heal by itself
                log.exception("outbox event cannot be delivered", extra={"event_id": event.id, "kind": event.kind})
                outcomes.append(Outcome(event, "dead", error=error_code(exc)))
            else:
                outcomes.append(Outcome(event, "delivered"))
                continue
            outcomes.extend(Outcome(rest, "released") for rest in run[index + 1 :])
            break
        return outcomes

    def _transient(self, event: ClaimedEvent, exc: BaseException) -> Outcome:
        attempts = event.attempts + 1
        code = error_code(exc) if isinstance(exc, JournalError) else "Timeout"
        if attempts >= self.max_attempts:
            return Outcome(event, "dead", error=f"{code} (after {attempts} attempts)")
        retry_after = exc.retry_after if isinstance(exc, JournalTransientError) else None
        return Outcome(
            event,
            "retry",
            next_attempt_at=self.clock() + dt.timedelta(seconds=self.backoff(attempts, retry_after)),
            error=code,
        )

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before attempt `attempts + 1`: full jitter, never below Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))
        delay = self.rng.uniform(0, ceiling)
        return max(delay, retry_after or 0.0)

    async def _send(self, claim: Claim, key: tuple[str, str], event: ClaimedEvent, refs: _Refs) -> None:
        """One event as port calls; `key` is (aggregate_type, aggregate_id)."""
        journal, payload = self.journal, event.payload
        kind = event.kind
        if kind == EventKind.case_registered:
            registration = events.read_registration(payload)
            person_ref = await journal.upsert_person(event.id, registration.person)
            case_ref = await journal.register_case(event.id, registration, person_ref)
            claim.refs[key] = case_ref
            refs.found[key] = case_ref
            person_id, guardian_id = events.read_person_ids(payload)
            if person_id:
                refs.found[("person", person_id)] = person_ref
            if guardian_id and registration.guardian is not None:
                # The same key register_case used for the guardian: a replay, not a second write.
                guardian_ref = await journal.upsert_person(derive_key(event.id, "guardian"), registration.guardian)
                refs.found[("person", guardian_id)] = guardian_ref
            return
        if kind == EventKind.person_updated:
            known = claim.refs.get(key) or refs.found.get(key)
            if known is None:
                # The person's registration has not reached the journal system yet.
                raise JournalTransientError("person ref not yet known", problem_type="person-ref-unknown")
            await journal.update_person(event.id, known, events.read_person_update(payload))
            return
        if kind == EventKind.case_disposed:  # the case and its link are gone: the ref travels along
            await journal.record_disposed(event.id, *events.read_disposed(payload))
            return
        ref = claim.refs.get(key)
        if ref is None:
            raise JournalPermanentError("the case has no journal reference", problem_type="case-ref-unknown")
        if kind in events.ENTRY_KINDS:
            await journal.add_journal_entry(event.id, ref, events.read_entry(payload))
        elif kind == EventKind.plan_set:
            await journal.put_plan(event.id, ref, events.read_plan(payload))
        elif kind == EventKind.case_closed:
            entry = events.read_closing_entry(payload)
            if entry is not None:
                await journal.add_journal_entry(event.id, ref, entry)
            await journal.close_case(event.id, ref, events.read_closing(payload))
        elif kind == EventKind.disposal_changed:
            await journal.set_disposal(event.id, ref, events.read_disposal(payload))
        else:
            raise JournalPermanentError("unknown event kind", problem_type="unknown-event-kind")

    # 3. Complete -----------------------------------------------------------------------

    async def complete(self, claim: Claim, outcomes: Sequence[Outcome], refs: _Refs) -> CycleResult:
        now = self.clock()
        pg = self.db.is_postgresql
        result = CycleResult(claimed=claim.size)
        async with self.db.sessions() as session, session.begin():
            all_seqs = [o.event.seq for o in outcomes]
            owned = set(
                (
                    await session.execute(
                        select(EVENTS.c.seq)
                        .where(_in(EVENTS.c.seq, all_seqs, pg), EVENTS.c.lease_token == claim.token)
                        .order_by(EVENTS.c.seq)
                        .with_for_update()
                    )
                ).scalars()
            )
            mine = [o for o in outcomes if o.event.seq in owned]
            result.lease_lost = len(outcomes) - len(mine)
            if result.lease_lost:
                log.warning(
                    "outbox lease lost: another worker took these events",
                    extra={"worker": self.worker_id, "events": result.lease_lost},
                )
            by_kind: dict[OutcomeKind, list[Outcome]] = {"delivered": [], "retry": [], "dead": [], "released": []}
            for outcome in mine:
                by_kind[outcome.kind].append(outcome)
            guard = EVENTS.c.lease_token == claim.token
            if by_kind["delivered"]:
                await session.execute(
                    update(EVENTS)
                    .where(_in(EVENTS.c.seq, [o.event.seq for o in by_kind["delivered"]], pg), guard)
                    .values(
                        status="delivered",
                        delivered_at=now,
                        attempts=EVENTS.c.attempts + 1,
                        lease_token=None,
                        lease_expires_at=None,
                        last_error=None,
                    )
                )
            if by_kind["released"]:
                await session.execute(
                    update(EVENTS)
                    .where(_in(EVENTS.c.seq, [o.event.seq for o in by_kind["released"]], pg), guard)
                    .values(status="pending", lease_token=None, lease_expires_at=None)
                )
            failed = by_kind["retry"] + by_kind["dead"]
            if failed:
                await session.execute(
                    update(EVENTS)
                    .where(EVENTS.c.seq == bindparam("b_seq"), EVENTS.c.lease_token == bindparam("b_token"))
                    .values(
                        status=bindparam("b_status"),
                        attempts=bindparam("b_attempts"),
                        next_attempt_at=bindparam("b_next", type_=DateTime(timezone=True)),
                        last_error=bindparam("b_error"),
                        lease_token=None,
                        lease_expires_at=None,
                    ),
                    [
                        {
                            "b_seq": o.event.seq,
                            "b_token": claim.token,
                            "b_status": "pending" if o.kind == "retry" else "dead",
                            "b_attempts": o.event.attempts + (0 if o.counted else 1),
                            "b_next": o.next_attempt_at or now,
                            "b_error": o.error,
                        }
                        for o in failed
                    ],
                )
            await self._write_links(session, mine, refs, pg)
        result.delivered = len(by_kind["delivered"])
        result.retried = len(by_kind["retry"])
        result.dead = len(by_kind["dead"])
        result.released = len(by_kind["released"])
        record_outcomes(
            mine,
            lease_lost=result.lease_lost,
            reclaimed=sum(1 for run in claim.runs.values() for e in run if e.reclaimed),
        )
        return result

    async def _upsert_links(self, session: AsyncSession, pg: bool, column: str, rows: list[dict[str, Any]]) -> None:
        """Insert links, or on conflict update just `column` (and the time)."""
        insert = (postgresql.insert if pg else sqlite.insert)(LINKS)
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=[LINKS.c.aggregate_type, LINKS.c.aggregate_id],
                set_={column: insert.excluded[column], "updated_at": self.clock()},
            ),
            rows,
        )

    async def _write_links(self, session: AsyncSession, outcomes: Sequence[Outcome], refs: _Refs, pg: bool) -> None:
        if refs.found:
            # Refs: insert, or set the ref and keep the state.
            await self._upsert_links(
                session,
                pg,
                "external_ref",
                [
                    {
                        "aggregate_type": agg_type,
                        "aggregate_id": agg_id,
                        "external_ref": ref,
                        "sync_state": "delivered" if agg_type == "person" else "pending",
                        "updated_at": self.clock(),
                    }
                    for (agg_type, agg_id), ref in refs.found.items()
                ],
            )
        touched: dict[tuple[str, str], bool] = {}  # aggregate -> has a dead event
        for outcome in outcomes:
            if outcome.event.aggregate_type == "disposal":
                continue  # a disposed case keeps no journal link
            key = (outcome.event.aggregate_type, outcome.event.aggregate_id)
            touched[key] = touched.get(key, False) or outcome.kind == "dead"
        if not touched:
            return
        open_ids = set(
            (
                await session.execute(
                    select(EVENTS.c.aggregate_id)
                    .where(_in(EVENTS.c.aggregate_id, [agg_id for _, agg_id in touched], pg), UNFINISHED_EVENTS)
                    .distinct()
                )
            ).scalars()
        )
        await self._upsert_links(
            session,
            pg,
            "sync_state",
            [
                {
                    "aggregate_type": agg_type,
                    "aggregate_id": agg_id,
                    "external_ref": None,
                    "sync_state": "failed" if dead else ("pending" if agg_id in open_ids else "delivered"),
                    "updated_at": self.clock(),
                }
                for (agg_type, agg_id), dead in touched.items()
            ],
        )


def _claimed(row: Any) -> ClaimedEvent:
    return ClaimedEvent(
        seq=row.seq,
        id=row.id,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        kind=row.kind,
        payload=row.payload,
        attempts=row.attempts,
        reclaimed=row.status == "in_flight",
    )


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _claimable(row: Any, now: dt.datetime) -> bool:
    if row.status == "pending":
        due = _as_utc(row.next_attempt_at)
        return due is None or due <= now
    if row.status == "in_flight":
        expires = _as_utc(row.lease_expires_at)
        return expires is None or expires <= now
    return False  # dead


def _in(column: Any, values: Sequence[Any], pg: bool) -> Any:
    """`column = ANY(:array)` on PostgreSQL (one parameter, one cached statement), else IN."""
    if pg:
        from sqlalchemy import any_
        from sqlalchemy.dialects.postgresql import ARRAY

        element_type = Integer() if isinstance(column.type, Integer) else String()
        return column == any_(bindparam(None, list(values), type_=ARRAY(element_type)))
    return column.in_(list(values))


async def _known_refs(
    session: AsyncSession, runs: dict[tuple[str, str], list[ClaimedEvent]], pg: bool
) -> dict[tuple[str, str], str]:
    """The journal refs of the claimed aggregates that do not start with their registration."""
    wanted = [
        (agg_type, agg_id) for (agg_type, agg_id), run in runs.items() if run[0].kind != EventKind.case_registered
    ]
    if not wanted:
        return {}
    # Both key columns, so the primary key (aggregate_type, aggregate_id) finds them: by the id
    # alone it is a scan of every link, one per identified case and person ever delivered.
    rows = await session.execute(
        select(LINKS.c.aggregate_type, LINKS.c.aggregate_id, LINKS.c.external_ref).where(
            _in(LINKS.c.aggregate_type, sorted({agg_type for agg_type, _ in wanted}), pg),
            _in(LINKS.c.aggregate_id, [agg_id for _, agg_id in wanted], pg),
            LINKS.c.external_ref.is_not(None),
        )
    )
    keys = set(wanted)
    return {
        (row.aggregate_type, row.aggregate_id): row.external_ref
        for row in rows
        if (row.aggregate_type, row.aggregate_id) in keys
    }


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
