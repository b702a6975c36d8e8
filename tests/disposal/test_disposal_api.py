"""Holds, lists and four-eyes approval over HTTP, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import CaseRow
from app.core.db import Database
from app.disposal.models import DisposalRunRow
from app.disposal.policy import CommitteeDisposalPolicy
from app.disposal.rules import ResearchExemption
from app.kit.idempotency_models import IdempotencyRecord
from tests.disposal.support import Seed, new_id, official_personnummer

Auth = Callable[..., dict[str, str]]
COMMITTEE = "sn-sydvast"
AS_OF = dt.date(2026, 6, 1)
OLD = dt.date(2020, 1, 10)  # due 2025-01-10
RECENT = dt.date(2024, 1, 10)  # due 2029


async def _policy(_session: AsyncSession, _committee: str) -> CommitteeDisposalPolicy:
    return CommitteeDisposalPolicy(exemption=ResearchExemption.NONE, retention_years=3)


@pytest.fixture
def policy_app(app: FastAPI) -> FastAPI:
    app.state.disposal_policies = _policy
    return app


@pytest.fixture
async def files(db: Database, policy_app: FastAPI) -> dict[str, str]:
    pnrs = official_personnummer()
    seed = Seed()
    due = seed.person(COMMITTEE, pnrs[100], "Aldo")
    young = seed.person(COMMITTEE, pnrs[101], "Berit")
    held = seed.person(COMMITTEE, pnrs[102], "Cilla")
    ids = {
        "due": due,
        "young": young,
        "held": held,
        "due_case": seed.case(COMMITTEE, "unit-a", person_id=due, last_entry_on=OLD, pnr=pnrs[100]),
        "young_case": seed.case(COMMITTEE, "unit-a", person_id=young, last_entry_on=RECENT, pnr=pnrs[101]),
        "held_case": seed.case(COMMITTEE, "unit-b", person_id=held, last_entry_on=OLD, pnr=pnrs[102]),
        "record": seed.case(COMMITTEE, "unit-a", last_entry_on=OLD),
    }
    async with db.sessions() as session, session.begin():
        await seed.write(session)
    return ids


async def _hold(client: httpx.AsyncClient, auth: Auth, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return await client.post("/v1/disposal/holds", json=body, headers=auth("disposal:hold", **kw))


async def test_holds_are_scoped_recorded_and_released(
    client: httpx.AsyncClient, auth: Auth, files: dict[str, str]
) -> None:
    other_unit = await _hold(client, auth, {"case_id": files["held_case"], "reason": "court_case"})
    assert other_unit.status_code == 404  # the case is unit-b's
    other_committee = await _hold(
        client, auth, {"person_id": files["due"], "reason": "supervision"}, committee="sn-annan"
    )
    assert other_committee.status_code == 404
    both = await _hold(client, auth, {"person_id": files["due"], "case_id": files["due_case"], "reason": "other"})
    assert both.status_code == 422
    digits = await _hold(client, auth, {"person_id": files["due"], "reason": "other", "reference": "198112022382"})
    assert digits.status_code == 422

    first = await _hold(client, auth, {"case_id": files["held_case"], "reason": "court_case"}, unit="unit-b")
    second = await _hold(
        client, auth, {"person_id": files["held"], "reason": "public_records_request", "reference": "KS 2026/17"}
    )
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["created_by"] == "test-system" and first.json()["created_at"]

    seen_a = (await client.get("/v1/disposal/holds", headers=auth("disposal:hold"))).json()["items"]
    assert [h["id"] for h in seen_a] == [second.json()["id"]]  # unit-b's case hold is unit-b's
    seen_b = (await client.get("/v1/disposal/holds", headers=auth("disposal:hold", unit="unit-b"))).json()["items"]
    assert {h["id"] for h in seen_b} == {first.json()["id"], second.json()["id"]}

    gone = await client.delete(f"/v1/disposal/holds/{second.json()['id']}", headers=auth("disposal:hold", sub="b"))
    assert gone.status_code == 204
    again = await client.delete(f"/v1/disposal/holds/{second.json()['id']}", headers=auth("disposal:hold"))
    assert again.status_code == 404
    released = (await client.get("/v1/disposal/holds?include_released=true", headers=auth("disposal:hold"))).json()[
        "items"
    ]
    assert released[0]["released_by"] == "b" and released[0]["released_at"]
    assert (await client.get("/v1/disposal/holds", headers=auth("disposal:read"))).status_code == 403


async def test_list_four_eyes_and_version_binding(client: httpx.AsyncClient, auth: Auth, files: dict[str, str]) -> None:
    await _hold(client, auth, {"person_id": files["held"], "reason": "court_case"})
    proposed = await client.post(
        "/v1/disposal/lists", json={"as_of": AS_OF.isoformat()}, headers=auth("disposal:propose", sub="anna")
    )
    assert proposed.status_code == 201, proposed.text
    doc = proposed.json()
    assert doc["item_count"] == 2 and doc["held_count"] == 1
    assert doc["counts"] == {"destroy": {"records_plan": 1, "sol_16_1_destroy": 1}}
    assert doc["needs_approval"] is True and doc["status"] == "proposed"
    url = f"/v1/disposal/lists/{doc['id']}"

    by_proposer = auth("disposal:approve", sub="anna")
    same = await client.post(f"{url}/approve", json={"digest": doc["digest"]}, headers=by_proposer)
    assert same.status_code == 403 and same.json()["type"].endswith("disposal-four-eyes")
    wrong = await client.post(f"{url}/approve", json={"digest": "0" * 64}, headers=auth("disposal:approve", sub="bo"))
    assert wrong.status_code == 409 and wrong.json()["type"].endswith("disposal-list-changed")
    approved = await client.post(
        f"{url}/approve", json={"digest": doc["digest"]}, headers=auth("disposal:approve", sub="bo")
    )
    assert approved.status_code == 200
    assert approved.json()["approved_by"] == "bo" and approved.json()["needs_approval"] is False

    # Approved is approved: a second approval (by anyone, of any digest) is a 409 and changes nothing.
    for sub, digest in (("cecilia", doc["digest"]), ("bo", doc["digest"]), ("cecilia", "f" * 64)):
        again = await client.post(f"{url}/approve", json={"digest": digest}, headers=auth("disposal:approve", sub=sub))
        assert again.status_code == 409, again.text
        assert again.json()["type"].endswith("/disposal-list-already-approved") and again.json()["version"] == 1
        assert digest not in again.text
    assert (await client.get(url, headers=auth("disposal:read"))).json() == approved.json()

    # Unchanged: a refresh keeps the version and the approval.
    same_again = await client.post(f"{url}/refresh", headers=auth("disposal:propose", sub="anna"))
    assert same_again.json()["version"] == 1 and same_again.json()["needs_approval"] is False
    # A hold set since: a new version, approval needed again, the old digest refused.
    case_hold = await _hold(client, auth, {"case_id": files["due_case"], "reason": "supervision"})
    changed = await client.post(f"{url}/refresh", headers=auth("disposal:propose", sub="anna"))
    assert changed.json()["version"] == 2 and changed.json()["needs_approval"] is True
    assert changed.json()["item_count"] == 1 and changed.json()["status"] == "proposed"
    approver = auth("disposal:approve", sub="bo")
    stale = await client.post(f"{url}/approve", json={"digest": doc["digest"]}, headers=approver)
    assert stale.status_code == 409
    # Who made a new version proposed it: the one who refreshed cannot approve it.
    released = await client.delete(f"/v1/disposal/holds/{case_hold.json()['id']}", headers=auth("disposal:hold"))
    assert released.status_code == 204
    again = await client.post(f"{url}/refresh", headers=auth("disposal:propose", sub="bo"))
    assert again.json()["version"] == 3 and again.json()["proposed_by"] == "bo" and again.json()["item_count"] == 2
    own = await client.post(f"{url}/approve", json={"digest": again.json()["digest"]}, headers=approver)
    assert own.status_code == 403
    other = auth("disposal:approve", sub="anna")
    final = await client.post(f"{url}/approve", json={"digest": again.json()["digest"]}, headers=other)
    assert final.status_code == 200 and final.json()["approved_version"] == 3

    listed = (await client.get("/v1/disposal/lists", headers=auth("disposal:read"))).json()["items"]
    assert [item["id"] for item in listed] == [doc["id"]]
    elsewhere = await client.get(url, headers=auth("disposal:read", committee="sn-annan"))
    assert elsewhere.status_code == 404


async def test_due_forecast_counts_only(client: httpx.AsyncClient, auth: Auth, files: dict[str, str]) -> None:
    response = await client.get("/v1/disposal/due?before=2030-01-01", headers=auth("disposal:read"))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4
    assert body["counts"] == {"destroy": {"records_plan": 1, "sol_16_1_destroy": 3}}
    assert body["by_due_year"] == {"2023": 1, "2025": 2, "2029": 1}
    assert files["due"] not in response.text


async def test_certificates_and_metrics_after_a_run(
    client: httpx.AsyncClient, auth: Auth, files: dict[str, str], db: Database, settings: Any, tmp_path: Any
) -> None:
    from app.disposal.execution import DisposalRunner

    proposed = await client.post(
        "/v1/disposal/lists", json={"as_of": AS_OF.isoformat()}, headers=auth("disposal:propose", sub="anna")
    )
    list_id, digest = proposed.json()["id"], proposed.json()["digest"]
    approver = auth("disposal:approve", sub="bo")
    assert (
        await client.post(f"/v1/disposal/lists/{list_id}/approve", json={"digest": digest}, headers=approver)
    ).status_code == 200

    runner = DisposalRunner(db, settings.model_copy(update={"archive_dir": tmp_path}), policies=_policy)
    [report] = await runner.run(as_of=AS_OF)
    assert report.files_done == 3 and report.packages == []  # nothing kept for research: all destroyed

    runs = (await client.get("/v1/disposal/runs", headers=auth("disposal:read"))).json()["items"]
    assert [r["id"] for r in runs] == [report.run_id]
    certificate = (await client.get(f"/v1/disposal/runs/{report.run_id}", headers=auth("disposal:read"))).json()
    assert certificate["list_id"] == list_id and certificate["status"] == "finished"
    assert certificate["proposed_by"] == "anna" and certificate["approved_by"] == "bo"
    assert certificate["counts"]["done"] == {"destroy": {"records_plan": 1, "sol_16_1_destroy": 2}}
    assert certificate["list_digest"] == digest and certificate["finished_at"]
    for value in (files["due"], files["held"], files["due_case"], files["held_case"]):
        assert value not in str(certificate)
    listed = (await client.get(f"/v1/disposal/lists/{list_id}", headers=auth("disposal:read"))).json()
    assert listed["status"] == "executed"
    assert (await client.get("/v1/disposal/runs/" + "0" * 36, headers=auth("disposal:read"))).status_code == 404

    metrics = (await client.get("/metrics")).text
    assert 'iub_disposal_files_total{action="destroy",rule="sol_16_1_destroy"}' in metrics


# --- pages: `{"items", "next_cursor"}` like every list of the API --------------------------------


async def _walk(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing, two per page, following `next_cursor` to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.get(
            url, params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 2
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _newest_first(docs: list[dict[str, Any]], at: str) -> list[dict[str, Any]]:
    """In (timestamp, id) descending order: equal timestamps are told apart by id."""
    return sorted(docs, key=lambda d: (dt.datetime.fromisoformat(d[at]), d["id"]), reverse=True)


async def test_holds_lists_and_runs_are_paged_newest_first_by_cursor(
    client: httpx.AsyncClient, auth: Auth, db: Database, files: dict[str, str]
) -> None:
    holds = [(await _hold(client, auth, {"person_id": files["due"], "reason": "court_case"})).json() for _ in range(5)]
    lists = []
    for day in range(1, 6):
        body = {"as_of": dt.date(2026, 6, day).isoformat()}
        lists.append((await client.post("/v1/disposal/lists", json=body, headers=auth("disposal:propose"))).json())
    runs = []
    async with db.sessions() as session, session.begin():
        for n, listed in enumerate(lists):
            run = {
                "id": new_id(), "list_id": listed["id"], "committee": COMMITTEE, "as_of": AS_OF, "list_version": 1,
                "list_digest": listed["digest"], "proposed_by": "anna", "approved_by": "bo", "status": "finished",
                "started_at": dt.datetime(2026, 6, 2, tzinfo=dt.UTC) + dt.timedelta(minutes=n // 2),  # ties too
                "batches": 0, "counts": {"done": {}, "held": {}, "changed": {}},
            }  # fmt: skip
            session.add(DisposalRunRow(**run))
            runs.append(run)
    newest_first = sorted(runs, key=lambda r: (r["started_at"], r["id"]), reverse=True)

    walked = await _walk(client, "/v1/disposal/holds", auth("disposal:hold"))
    assert [h["id"] for h in walked] == [h["id"] for h in _newest_first(holds, "created_at")]
    walked = await _walk(client, "/v1/disposal/lists", auth("disposal:read"))
    assert [item["id"] for item in walked] == [item["id"] for item in _newest_first(lists, "proposed_at")]
    walked = await _walk(client, "/v1/disposal/runs", auth("disposal:read"))
    assert [r["id"] for r in walked] == [r["id"] for r in newest_first]
    # Scoped as ever: another committee's pages are empty.
    assert await _walk(client, "/v1/disposal/runs", auth("disposal:read", committee="sn-annan")) == []


@pytest.mark.parametrize("path", ["holds", "lists", "runs"])
async def test_a_cursor_not_handed_out_is_422_without_echo(client: httpx.AsyncClient, auth: Auth, path: str) -> None:
    scope = "disposal:hold" if path == "holds" else "disposal:read"
    response = await client.get(f"/v1/disposal/{path}", params={"cursor": "forged-cursor"}, headers=auth(scope))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor" and "forged-cursor" not in response.text


# --- stored idempotent responses go with the file they name ------------------------------------------


@pytest.mark.usefixtures("policy_app")
async def test_no_stored_response_naming_a_disposed_file_survives_its_disposal(
    client: httpx.AsyncClient, auth: Auth, db: Database, settings: Any, tmp_path: Any
) -> None:
    from app.disposal.execution import DisposalRunner

    pnrs = official_personnummer()
    seed = Seed()
    gone, kept = seed.person(COMMITTEE, pnrs[120], "Qz1x Canary"), seed.person(COMMITTEE, pnrs[121], "Kvar")
    # Open when seeded, so that the requests below may write to them; no stored response yet.
    gone_case = seed.case(COMMITTEE, "unit-a", person_id=gone, last_entry_on=OLD, open_case=True, journal=False)
    kept_case = seed.case(COMMITTEE, "unit-a", person_id=kept, last_entry_on=RECENT, open_case=True, journal=False)
    async with db.sessions() as session, session.begin():
        await seed.write(session)
        # As the service writes an identified case of the demo catalog's kind.
        await session.execute(
            update(CaseRow)
            .where(CaseRow.id.in_([gone_case, kept_case]))
            .values(subject_rule="recipient", registered_on="subject")
        )

    writer = auth("cases:write cases:read")
    for n, (case_id, day) in enumerate([(gone_case, OLD), (gone_case, OLD), (kept_case, RECENT)]):
        url = f"/v1/cases/{case_id}/notes" if n != 1 else f"/v1/cases/{case_id}/close"
        body = (
            {"kind": "event", "occurred_on": day.isoformat(), "text": "Samtal."}
            if n != 1
            else {"closed_on": day.isoformat(), "reason": "completed"}
        )
        response = await client.post(url, json=body, headers={**writer, "Idempotency-Key": f"key-{n}"})
        assert response.status_code in (200, 201), response.text
    async with db.sessions() as session:
        stored = (await session.scalars(select(IdempotencyRecord))).all()
    assert len(stored) == 3 and all(r.names for r in stored)  # each records the ids it names
    assert sum(gone_case in (r.names or []) for r in stored) == 2

    proposed = await client.post(
        "/v1/disposal/lists", json={"as_of": AS_OF.isoformat()}, headers=auth("disposal:propose", sub="anna")
    )
    approve = {"digest": proposed.json()["digest"]}
    approved = await client.post(
        f"/v1/disposal/lists/{proposed.json()['id']}/approve", json=approve, headers=auth("disposal:approve", sub="bo")
    )
    assert approved.status_code == 200
    runner = DisposalRunner(db, settings.model_copy(update={"archive_dir": tmp_path}), policies=_policy)
    [report] = await runner.run(as_of=AS_OF)
    assert report.files_done == 1

    # The canary: neither the disposed file's ids nor its person's identity in any stored response;
    # the kept file's response stays.
    async with db.sessions() as session:
        left = (
            await session.execute(select(IdempotencyRecord.response_body, IdempotencyRecord.response_headers))
        ).all()
    text = str(left)
    for value in (gone, gone_case, pnrs[120], pnrs[120][2:], "Qz1x"):
        assert value not in text
    assert len(left) == 1 and kept_case in text
