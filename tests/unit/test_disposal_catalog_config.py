"""The disposal configuration in a catalog file (committees' research exemption, records plan, units)."""

from __future__ import annotations

import pytest

from app.catalog.loader import CatalogFormatError, demo_catalog_path, load_catalog_text
from app.disposal.rules import ProviderKind, ResearchExemption


def catalog(committee: str) -> str:
    return f"committees:\n  - {committee}\ndecisions: []\n"


def test_demo_catalog_is_goteborgs_all() -> None:
    committees, _ = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    assert {c.research_exemption for c in committees} == {ResearchExemption.ALL}
    assert {c.records_plan_retention_years for c in committees} == {None}


def test_committee_configuration_is_read() -> None:
    text = catalog(
        "{id: sn-x, name: X, research_exemption: birthdays_5_15_25, records_plan_retention_years: 10,"
        " units: [{unit: u2, provider_kind: private}, {unit: u1, provider_kind: municipal}]}"
    )
    [committee], _ = load_catalog_text(text)
    assert committee.research_exemption is ResearchExemption.BIRTHDAYS_5_15_25
    assert committee.records_plan_retention_years == 10
    assert committee.unit_providers == (("u1", ProviderKind.MUNICIPAL), ("u2", ProviderKind.PRIVATE))


def test_defaults_destroy_nothing() -> None:
    [committee], _ = load_catalog_text(catalog("{id: sn-x, name: X}"))
    assert committee.research_exemption is ResearchExemption.ALL
    assert committee.records_plan_retention_years is None
    assert committee.unit_providers == ()


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ("research_exemption: some", "committees[0].research_exemption"),
        ("records_plan_retention_years: 0", "committees[0].records_plan_retention_years"),
        ("units: [{unit: u, provider_kind: ngo}]", "committees[0].units[0].provider_kind"),
        (
            "units: [{unit: u, provider_kind: private}, {unit: u, provider_kind: private}]",
            "committees[0].units[1].unit",
        ),
    ],
)
def test_bad_configuration_names_the_field(fields: str, path: str) -> None:
    with pytest.raises(CatalogFormatError) as raised:
        load_catalog_text(catalog(f"{{id: sn-x, name: X, {fields}}}"))
    assert raised.value.path == path
