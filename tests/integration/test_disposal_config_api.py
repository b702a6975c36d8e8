"""A committee's disposal configuration through the catalog API (both databases)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("demo_catalog")

URL = "/v1/catalog/committees/sn-sydvast"


async def test_demo_committees_are_goteborgs_nothing_destroyed(client, auth):
    listed = (await client.get("/v1/catalog/committees", headers=auth("catalog:read"))).json()
    assert {c["id"]: c["research_exemption"] for c in listed["items"]} == dict.fromkeys(
        ["sn-centrum", "sn-hisingen", "sn-nordost", "sn-sydvast"], "all"
    )
    one = (await client.get(URL, headers=auth("catalog:read"))).json()
    assert one == {
        "id": "sn-sydvast",
        "name": "Socialnämnden Sydväst",
        "research_exemption": "all",
        "records_plan": {"retention_years": None},
        "units": [],
    }
    assert (await client.get("/v1/catalog/committees/sn-nobody", headers=auth("catalog:read"))).status_code == 404


async def test_disposal_configuration_needs_catalog_admin(client, auth):
    own = auth("catalog:read catalog:write", committee="sn-sydvast")
    body = {"name": "Socialnämnden Sydväst", "research_exemption": "birthdays_5_15_25"}
    refused = await client.put(URL, json=body, headers=own)
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == "catalog:admin"
    # Sending the configuration back unchanged is no change.
    same = dict((await client.get(URL, headers=own)).json())
    same.pop("id")
    assert (await client.put(URL, json=same, headers=own)).status_code == 200
    assert (await client.get(URL, headers=own)).json()["research_exemption"] == "all"


async def test_admin_sets_and_a_rename_keeps_the_configuration(client, auth):
    admin = auth("catalog:read catalog:write catalog:admin", committee="sn-sydvast")
    body = {
        "name": "Socialnämnden Sydväst",
        "research_exemption": "birthdays_5_15_25",
        "records_plan": {"retention_years": 3},
        "units": [{"unit": "unit-p", "provider_kind": "private"}, {"unit": "unit-a", "provider_kind": "municipal"}],
    }
    put = await client.put(URL, json=body, headers=admin)
    assert put.status_code == 200, put.text
    expected = {
        "id": "sn-sydvast",
        "name": "Socialnämnden Sydväst",
        "research_exemption": "birthdays_5_15_25",
        "records_plan": {"retention_years": 3},
        "units": [{"unit": "unit-p", "provider_kind": "private"}],  # municipal is the default: not stored
    }
    assert put.json() == expected
    assert (await client.get(URL, headers=admin)).json() == expected

    own = auth("catalog:read catalog:write", committee="sn-sydvast")
    renamed = await client.put(URL, json={"name": "SN Sydväst"}, headers=own)
    assert renamed.status_code == 200
    assert renamed.json() == dict(expected, name="SN Sydväst")

    cleared = await client.put(
        URL, json={"name": "SN Sydväst", "records_plan": {"retention_years": None}, "units": []}, headers=admin
    )
    assert cleared.json() == dict(expected, name="SN Sydväst", records_plan={"retention_years": None}, units=[])


async def test_new_committee_with_its_configuration(client, auth):
    admin = auth("catalog:read catalog:write catalog:admin", committee="sn-kommun")
    put = await client.put(
        "/v1/catalog/committees/sn-linkoping",
        json={"name": "Socialnämnden Linköping", "research_exemption": "all"},
        headers=admin,
    )
    assert put.status_code == 200
    plain = await client.put("/v1/catalog/committees/sn-angered", json={"name": "Socialnämnden Angered"}, headers=admin)
    assert plain.json()["research_exemption"] == "all"  # the default destroys nothing


@pytest.mark.parametrize(
    "extra",
    [
        {"research_exemption": "some"},
        {"records_plan": {"retention_years": 0}},
        {"records_plan": {"retention_years": 101}},
        {"units": [{"unit": "u", "provider_kind": "private"}, {"unit": "u", "provider_kind": "municipal"}]},
        {"units": [{"unit": "u", "provider_kind": "ngo"}]},
    ],
)
async def test_bad_configuration_is_422(client, auth, extra):
    admin = auth("catalog:read catalog:write catalog:admin", committee="sn-sydvast")
    response = await client.put(URL, json={"name": "Socialnämnden Sydväst", **extra}, headers=admin)
    assert response.status_code == 422
