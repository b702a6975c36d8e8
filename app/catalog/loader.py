"""Parse a catalog (committees and their decisions) from YAML data into domain objects.

Pure parsing: the shape and types are validated here, with a `CatalogFormatError` naming
the path of the bad field (e.g. ``decisions[0].interventions[3].conditions.min_age``). The
law is not checked here: run `app.catalog.rules.check_decision` on every decision before
storing it. The format is documented in ``app/catalog/demo/README.md``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from app.catalog.domain import (
    Area,
    Category,
    Committee,
    Conditions,
    Decision,
    DeliveryForm,
    DocumentationRule,
    Intervention,
    Kind,
    Role,
    SubjectRule,
)
from app.disposal.rules import RECORDS_PLAN_YEARS_MAX, RECORDS_PLAN_YEARS_MIN, ProviderKind, ResearchExemption
from app.journal.limits import INTERVENTION_ID_MAX, INTERVENTION_NAME_MAX, UNIT_MAX

FORMAT_VERSION = 1

# Fixed forever: decision ids derive from it, so reloading a catalog yields the same ids.
DECISION_NAMESPACE = uuid.UUID("a667b285-d094-41b6-a6b4-cf7cab24aeec")

ALL_INTERVENTIONS = "all"

E = TypeVar("E", bound=StrEnum)


class CatalogFormatError(ValueError):
    """The catalog data does not have the documented shape; `path` locates the bad field."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.problem = message


def decision_id_for(committee: str, reference: str) -> str:
    """The deterministic id of a committee's decision: uuid5 of "committee|reference"."""
    return str(uuid.uuid5(DECISION_NAMESPACE, f"{committee}|{reference}"))


def demo_catalog_path() -> Path:
    """The demo catalog shipped with the package."""
    return Path(__file__).resolve().parent / "demo" / "catalog.yaml"


def load_catalog_text(text: str) -> tuple[list[Committee], list[Decision]]:
    """Parse YAML text in the catalog format."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogFormatError(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogFormatError("the catalog must be a mapping with committees and decisions", "$")
    return parse_catalog(data)


def _retention_years(obj: _Obj) -> int | None:
    years = obj.opt_int("records_plan_retention_years")
    if years is not None and not RECORDS_PLAN_YEARS_MIN <= years <= RECORDS_PLAN_YEARS_MAX:
        raise CatalogFormatError(
            f"must be {RECORDS_PLAN_YEARS_MIN}-{RECORDS_PLAN_YEARS_MAX} years, or null (kept)",
            obj.at("records_plan_retention_years"),
        )
    return years


def _unit_providers(obj: _Obj) -> tuple[tuple[str, ProviderKind], ...]:
    if obj.get("units") is None:
        return ()
    found: dict[str, ProviderKind] = {}
    for path, item in _items(obj.get("units"), obj.at("units")):
        unit = _Obj(item, path)
        unit.check_keys(required={"unit", "provider_kind"})
        name = unit.string("unit", max_length=UNIT_MAX)
        if name in found:
            raise CatalogFormatError(f"duplicate unit {name!r}", unit.at("unit"))
        found[name] = unit.choice("provider_kind", ProviderKind)
    return tuple(sorted(found.items()))


def parse_catalog(data: Mapping[str, Any]) -> tuple[list[Committee], list[Decision]]:
    """Parse already-loaded catalog data (a mapping, as from `yaml.safe_load`)."""
    root = _Obj(data, "")
    root.check_keys(required={"committees", "decisions"}, optional={"version", "interventions"})
    version = root.opt_int("version")
    if version is not None and version != FORMAT_VERSION:
        raise CatalogFormatError(f"unsupported format version {version}; expected {FORMAT_VERSION}", "version")

    committees: list[Committee] = []
    seen_committees: set[str] = set()
    for path, item in _items(data["committees"], "committees"):
        obj = _Obj(item, path)
        obj.check_keys(
            required={"id", "name"}, optional={"research_exemption", "records_plan_retention_years", "units"}
        )
        committee = Committee(
            id=obj.string("id"),
            name=obj.string("name"),
            research_exemption=obj.choice("research_exemption", ResearchExemption, ResearchExemption.ALL),
            records_plan_retention_years=_retention_years(obj),
            unit_providers=_unit_providers(obj),
        )
        if committee.id in seen_committees:
            raise CatalogFormatError(f"duplicate committee id {committee.id!r}", f"{path}.id")
        seen_committees.add(committee.id)
        committees.append(committee)

    shared: dict[str, Intervention] = {}
    if data.get("interventions") is not None:
        for path, item in _items(data["interventions"], "interventions"):
            intervention = _intervention(item, path)
            if intervention.id in shared:
                raise CatalogFormatError(f"duplicate intervention id {intervention.id!r}", f"{path}.id")
            shared[intervention.id] = intervention

    decisions: list[Decision] = []
    seen_decisions: set[str] = set()
    for path, item in _items(data["decisions"], "decisions"):
        decision = _decision(item, path, shared)
        if decision.id in seen_decisions:
            raise CatalogFormatError(
                f"duplicate decision id {decision.id!r} (the same committee and reference twice?)", path
            )
        seen_decisions.add(decision.id)
        decisions.append(decision)
    return committees, decisions


def _decision(item: Any, path: str, shared: dict[str, Intervention]) -> Decision:
    obj = _Obj(item, path)
    obj.check_keys(
        required={"committee", "reference", "decided_on", "effective_from"},
        optional={"id", "effective_to", "interventions", "withdrawn", "risk_analysis_reference"},
    )
    committee = obj.string("committee")
    reference = obj.string("reference")
    decision_id = obj.opt_string("id") or decision_id_for(committee, reference)

    interventions: list[Intervention] = []
    raw = obj.get("interventions")
    ivs_path = f"{path}.interventions"
    if raw == ALL_INTERVENTIONS:
        if not shared:
            raise CatalogFormatError("'all' needs a top-level interventions list", ivs_path)
        interventions = list(shared.values())
    elif raw is not None:
        for item_path, entry in _items(raw, ivs_path, what=f"a list or '{ALL_INTERVENTIONS}'"):
            if isinstance(entry, str):
                if entry not in shared:
                    raise CatalogFormatError(f"{entry!r} is not in the top-level interventions list", item_path)
                interventions.append(shared[entry])
            else:
                interventions.append(_intervention(entry, item_path))

    withdrawn: list[str] = []
    raw_withdrawn = obj.get("withdrawn")
    if raw_withdrawn is not None:
        for item_path, slug in _items(raw_withdrawn, f"{path}.withdrawn"):
            if not isinstance(slug, str):
                raise CatalogFormatError("must be an intervention id (a string)", item_path)
            withdrawn.append(slug)

    return Decision(
        id=decision_id,
        committee=committee,
        decided_on=obj.day("decided_on"),
        reference=reference,
        effective_from=obj.day("effective_from"),
        effective_to=obj.opt_day("effective_to"),
        interventions=tuple(interventions),
        withdrawn=tuple(withdrawn),
        risk_analysis_reference=obj.opt_string("risk_analysis_reference") or None,
    )


def _intervention(item: Any, path: str) -> Intervention:
    obj = _Obj(item, path)
    obj.check_keys(
        required={
            "id",
            "name",
            "description",
            "area",
            "category",
            "delivery_form",
            "target_group",
        },
        optional={
            "kind",
            "conditions",
            "delivered_in_home",
            "subject_rule",
            "documentation_rule",
            "special_reasons",
        },
    )
    return Intervention(
        # As the journal system's contract allows: both travel with every identified case.
        id=obj.string("id", INTERVENTION_ID_MAX),
        name=obj.string("name", INTERVENTION_NAME_MAX),
        description=obj.string("description"),
        area=obj.choice("area", Area),
        category=obj.choice("category", Category),
        delivery_form=obj.choice("delivery_form", DeliveryForm),
        kind=obj.choice("kind", Kind, Kind.other),
        target_group=obj.string("target_group"),
        conditions=_conditions(obj.get("conditions"), f"{path}.conditions"),
        delivered_in_home=obj.boolean("delivered_in_home", False),
        subject_rule=obj.choice("subject_rule", SubjectRule, SubjectRule.recipient),
        documentation_rule=obj.choice("documentation_rule", DocumentationRule, DocumentationRule.standard),
        special_reasons=obj.opt_string("special_reasons"),
    )


def _conditions(item: Any, path: str) -> Conditions:
    if item is None:
        return Conditions()
    obj = _Obj(item, path)
    fields = {
        "min_age",
        "max_age",
        "roles",
        "child_min_age",
        "child_max_age",
        "school_years",
        "no_accompanying_children",
        "residence_in_committee",
        "max_sessions",
        "ages_15_17_considered",
    }
    obj.check_keys(optional=fields)
    roles: list[Role] = []
    if obj.get("roles") is not None:
        for item_path, role in _items(obj.get("roles"), f"{path}.roles"):
            roles.append(_enum_value(role, Role, item_path))
    school_years: list[int] = []
    if obj.get("school_years") is not None:
        for item_path, year in _items(obj.get("school_years"), f"{path}.school_years"):
            school_years.append(_int_value(year, item_path))
    return Conditions(
        min_age=obj.opt_int("min_age"),
        max_age=obj.opt_int("max_age"),
        roles=tuple(roles),
        child_min_age=obj.opt_int("child_min_age"),
        child_max_age=obj.opt_int("child_max_age"),
        school_years=tuple(school_years),
        no_accompanying_children=obj.boolean("no_accompanying_children", False),
        residence_in_committee=obj.boolean("residence_in_committee", False),
        max_sessions=obj.opt_int("max_sessions"),
        ages_15_17_considered=obj.boolean("ages_15_17_considered", False),
    )


# --- typed access with paths ---------------------------------------------------------------


def _items(value: Any, path: str, what: str = "a list") -> list[tuple[str, Any]]:
    if not isinstance(value, list):
        raise CatalogFormatError(f"must be {what}", path)
    return [(f"{path}[{i}]", item) for i, item in enumerate(value)]


def _int_value(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogFormatError("must be a whole number", path)
    return value


def _enum_value(value: Any, enum: type[E], path: str) -> E:
    allowed = ", ".join(member.value for member in enum)
    if not isinstance(value, str):
        raise CatalogFormatError(f"must be one of: {allowed}", path)
    try:
        return enum(value)
    except ValueError:
        raise CatalogFormatError(f"{value!r} is not one of: {allowed}", path) from None


class _Obj:
    """A mapping at a known path, with typed getters that raise CatalogFormatError."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise CatalogFormatError("must be a mapping", path or "$")
        self.data: Mapping[Any, Any] = value
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def check_keys(self, required: AbstractSet[str] = frozenset(), optional: AbstractSet[str] = frozenset()) -> None:
        for key in self.data:
            if key not in required and key not in optional:
                known = ", ".join(sorted(required | optional))
                raise CatalogFormatError(f"unknown field (known fields: {known})", self.at(str(key)))
        for key in sorted(required):
            if key not in self.data:
                raise CatalogFormatError("required field is missing", self.at(key))

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def string(self, key: str, max_length: int | None = None) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CatalogFormatError("must be a non-empty string", self.at(key))
        if max_length is not None and len(value.strip()) > max_length:
            raise CatalogFormatError(f"must be at most {max_length} characters", self.at(key))
        return value.strip()

    def opt_string(self, key: str) -> str | None:
        if self.data.get(key) is None:
            return None
        value = self.data[key]
        if not isinstance(value, str):
            raise CatalogFormatError("must be a string or null", self.at(key))
        return value.strip()

    def opt_int(self, key: str) -> int | None:
        value = self.data.get(key)
        return None if value is None else _int_value(value, self.at(key))

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise CatalogFormatError("must be true or false", self.at(key))
        return value

    def choice(self, key: str, enum: type[E], default: E | None = None) -> E:
        value = self.data.get(key)
        if value is None and default is not None:
            return default
        return _enum_value(value, enum, self.at(key))

    def day(self, key: str) -> dt.date:
        value = self.opt_day(key)
        if value is None:
            raise CatalogFormatError("must be a date (YYYY-MM-DD)", self.at(key))
        return value

    def opt_day(self, key: str) -> dt.date | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime):  # a timestamp, not a day
            raise CatalogFormatError("must be a date (YYYY-MM-DD), not a timestamp", self.at(key))
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise CatalogFormatError("must be a date (YYYY-MM-DD)", self.at(key))
