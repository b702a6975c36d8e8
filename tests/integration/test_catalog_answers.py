"""Catalog reads served from serialised answers: ETag, 304, a change seen at once, committees apart."""

from __future__ import annotations

import pytest

from app.catalog.answers import Answers, answers_of
from app.catalog.schemas import CommitteePageDoc

pytestmark = pytest.mark.usefixtures("demo_catalog")

LIST = "/v1/catalog/interventions"
ON = {"on": "2026-02-01"}


async def test_an_answer_carries_a_strong_etag_and_is_private(client, auth):
    first = await client.get(LIST, params=ON, headers=auth("catalog:read"))
    again = await client.get(LIST, params=ON, headers=auth("catalog:read"))
    assert first.status_code == again.status_code == 200
    assert first.headers["etag"].startswith('"') and not first.headers["etag"].startswith("W/")
    assert again.headers["etag"] == first.headers["etag"]
    assert again.content == first.content
    assert first.headers["cache-control"] == "private, no-cache"
    assert first.headers["content-type"] == "application/json"
    assert len(first.json()["items"]) == 22
    assert "x-request-id" in again.headers  # the middleware still adds its headers to a cached answer


async def test_if_none_match_gives_304_without_a_body(client, auth):
    headers = auth("catalog:read")
    etag = (await client.get(LIST, params=ON, headers=headers)).headers["etag"]
    for sent in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = await client.get(LIST, params=ON, headers=headers | {"If-None-Match": sent})
        assert response.status_code == 304, sent
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "private, no-cache"
    stale = await client.get(LIST, params=ON, headers=headers | {"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.json()["items"]


async def test_no_token_no_answer_even_with_the_etag(client, auth):
    etag = (await client.get(LIST, params=ON, headers=auth("catalog:read"))).headers["etag"]
    assert (await client.get(LIST, params=ON, headers={"If-None-Match": etag})).status_code == 401
    other_scope = auth("cases:read") | {"If-None-Match": etag}
    assert (await client.get(LIST, params=ON, headers=other_scope)).status_code == 403


async def test_a_new_decision_gives_a_new_etag_and_the_new_content(client, auth):
    headers = auth("catalog:read catalog:write")
    before = await client.get(LIST, params=ON, headers=headers)
    one_before = await client.get(f"{LIST}/komet", params=ON, headers=headers)
    assert "komet" in {i["id"] for i in before.json()["items"]}
    decision = {
        "decided_on": "2026-01-20",
        "reference": "§ 7",
        "effective_from": "2026-02-01",
        "interventions": [],
        "withdrawn": ["komet"],
    }
    assert (await client.post("/v1/catalog/decisions", json=decision, headers=headers)).status_code == 201

    after = await client.get(LIST, params=ON, headers=headers | {"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert "komet" not in {i["id"] for i in after.json()["items"]}
    gone = await client.get(f"{LIST}/komet", params=ON, headers=headers | {"If-None-Match": one_before.headers["etag"]})
    assert gone.status_code == 404


async def test_another_committees_token_never_gets_the_first_committees_answer(client, auth):
    mine = await client.get(LIST, params=ON, headers=auth("catalog:read", committee="sn-sydvast"))
    theirs = await client.get(LIST, params=ON, headers=auth("catalog:read", committee="sn-centrum"))
    assert {i["committee"] for i in mine.json()["items"]} == {"sn-sydvast"}
    assert {i["committee"] for i in theirs.json()["items"]} == {"sn-centrum"}
    assert theirs.headers["etag"] != mine.headers["etag"]
    revalidated = await client.get(
        LIST, params=ON, headers=auth("catalog:read", committee="sn-centrum") | {"If-None-Match": mine.headers["etag"]}
    )
    assert revalidated.status_code == 200 and revalidated.content == theirs.content
    # Asking for a committee by name answers that committee's catalog, whatever the token's.
    asked = await client.get(LIST, params=ON | {"committee": "sn-centrum"}, headers=auth("catalog:read"))
    assert asked.content == theirs.content


async def test_pages_filters_and_dates_are_answers_of_their_own(client, auth):
    headers = auth("catalog:read")
    first = await client.get(LIST, params=ON | {"limit": 5}, headers=headers)
    second = await client.get(LIST, params=ON | {"limit": 5, "cursor": first.json()["next_cursor"]}, headers=headers)
    assert len(first.json()["items"]) == len(second.json()["items"]) == 5
    assert first.json()["items"][-1]["id"] < second.json()["items"][0]["id"]
    assert first.headers["etag"] != second.headers["etag"]
    empty = await client.get(LIST, params={"on": "2025-06-30"}, headers=headers)
    assert empty.json() == {"items": [], "next_cursor": None}
    bad = await client.get(LIST, params=ON | {"cursor": "nonsense"}, headers=headers)
    assert bad.status_code == 422 and "etag" not in bad.headers


async def test_committees_and_one_intervention_have_etags_too(client, auth):
    headers = auth("catalog:read")
    for path, params in (("/v1/catalog/committees", {}), (f"{LIST}/komet", ON)):
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200
        again = await client.get(path, params=params, headers=headers | {"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_the_answers_of_a_snapshot_are_bounded():
    answers = Answers(size=3)
    for n in range(5):
        answers.get(("page", n), lambda: CommitteePageDoc(items=[], next_cursor=None))
    assert len(answers) == 3


async def test_a_reload_starts_with_no_answers(app, client, auth):
    await client.get(LIST, params=ON, headers=auth("catalog:read"))
    assert len(answers_of(app.state.catalog.snapshot)) > 0
    await app.state.catalog.reload(app.state.db)
    assert len(answers_of(app.state.catalog.snapshot)) == 0


async def test_without_a_query_string_the_same_answer_and_the_same_checks(client, auth):
    """A GET without a query string skips parameter solving: same answer, same 401/403."""
    for path in (LIST, "/v1/catalog/committees"):
        plain = await client.get(path, headers=auth("catalog:read"))
        with_defaults = await client.get(path, params={"limit": 100}, headers=auth("catalog:read"))
        assert plain.status_code == with_defaults.status_code == 200
        assert plain.content == with_defaults.content and plain.headers["etag"] == with_defaults.headers["etag"]
        unauthenticated = await client.get(path)
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == "application/problem+json"
        assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
        forbidden = await client.get(path, headers=auth("cases:read"))
        assert forbidden.status_code == 403 and forbidden.json()["required_scope"] == "catalog:read"
    mine = await client.get(LIST, headers=auth("catalog:read", committee="sn-nordost"))
    assert {i["committee"] for i in mine.json()["items"]} == {"sn-nordost"}


async def test_a_request_sent_again_is_answered_from_what_it_was_answered(app, client, auth):
    headers = auth("catalog:read")
    params = ON | {"category": "counselling"}
    first = await client.get(LIST, params=params, headers=headers)
    kept = len(answers_of(app.state.catalog.snapshot))
    again = await client.get(LIST, params=params, headers=headers)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert len(answers_of(app.state.catalog.snapshot)) == kept  # nothing new built or kept
    bad = await client.get(LIST, params=ON | {"limit": 0}, headers=headers)
    assert bad.status_code == 422
    assert (await client.get(LIST, params=ON | {"limit": 0}, headers=headers)).status_code == 422
