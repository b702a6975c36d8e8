"""The predefined tables and the cube of counts behind them. Pure: no I/O.

Every table is a view of one *cube* per committee: a count for each period (quarter or year),
row (the committee, each unit, each intervention) and statistic (a `var`, e.g.
`started.gender.female`). Tables share statistics — the total of "started by gender" is the
"started" of "participants" — so a count is one cell however many tables show it, and the
disclosure control decides about each cell once, for every table and period together.

The cube also knows how its cells add up (`relations`), which is what an attacker subtracts:
parts of a table to their total, units and interventions to the committee, quarters to the
year, and the flow of cases from one quarter's end to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from app.cases.follow_up import (
    AGE_BANDS,
    CLOSING_REASONS,
    EARLY_TERMINATION_REASONS,
    GENDERS,
    INFORMED,
    SATISFACTION,
    SESSIONS_USED,
    WELLBEING_CHANGES,
    FollowUpCount,
)
from app.stats.disclosure import MAX_PERTURBATION, Method, cell_key_count, suppress
from app.stats.periods import Period

CellId = tuple[str, str, str]  # (period, row, var)
Relation = tuple[tuple[CellId, ...], tuple[CellId, ...]]  # the left side adds up to the right side

COMMITTEE_ROW: Final = "committee"
ONGOING: Final = "ongoing"
MEETINGS: Final = "groups.meetings"

# --- the tables ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    var: str | None  # the statistic shown; None for a share computed from published columns
    label_sv: str
    label_en: str
    part_of: str | None = None  # the column (key) that the parts of this table add up to


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    title_sv: str
    title_en: str
    description: str
    counts: str  # what a cell counts
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def vars(self) -> list[str]:
        return [c.var for c in self.columns if c.var is not None]

    def partitions(self) -> Iterator[tuple[str, list[str]]]:
        """(total var, part vars) for each total of the table whose parts are shown."""
        for total in self.columns:
            parts = [c.var for c in self.columns if c.part_of == total.key and c.var is not None]
            if parts and total.var is not None:
                yield total.var, parts


GENDER_LABELS: Final = {
    "female": ("Kvinnor och flickor", "Women and girls"),
    "male": ("Män och pojkar", "Men and boys"),
    "other": ("Annan könstillhörighet", "Other"),
    "unknown": ("Uppgift saknas", "Not known"),
}
REASON_LABELS: Final = {
    "completed": ("Genomförd", "Completed"),
    "ended_early": ("Avbruten i förtid", "Ended early"),
    "transferred_to_needs_assessed": ("Övergått till behovsprövad insats", "Transferred to needs-assessed"),
    "other": ("Annat", "Other"),
}
EARLY_LABELS: Final = {
    "moved": ("Flyttat", "Moved"),
    "declined_to_continue": ("Avböjt att fortsätta", "Declined to continue"),
    "referred_to_needs_assessed": ("Hänvisad till behovsprövad insats", "Referred to needs-assessed"),
    "no_show": ("Uteblivit", "Did not show up"),
    "other": ("Annat", "Other"),
    "not_coded": ("Ej kodad", "Not coded"),
}
WELLBEING_LABELS: Final = {
    "down_2_or_more": ("Sämre, 2 steg eller mer", "Worse by 2 or more"),
    "down_1": ("Sämre, 1 steg", "Worse by 1"),
    "unchanged": ("Oförändrat", "Unchanged"),
    "up_1": ("Bättre, 1 steg", "Better by 1"),
    "up_2_or_more": ("Bättre, 2 steg eller mer", "Better by 2 or more"),
    "not_assessed": ("Ej skattat vid start och slut", "Not assessed at start and end"),
}
SATISFACTION_LABELS: Final = {
    "1": ("1 – mycket missnöjd", "1 – very dissatisfied"),
    "2": ("2", "2"),
    "3": ("3", "3"),
    "4": ("4", "4"),
    "5": ("5 – mycket nöjd", "5 – very satisfied"),
    "not_given": ("Ingen uppgift", "Not given"),
}

# The labels name exactly the categories the counts use.
assert tuple(GENDER_LABELS) == GENDERS and tuple(WELLBEING_LABELS) == WELLBEING_CHANGES
assert tuple(SATISFACTION_LABELS) == SATISFACTION and set(INFORMED) == {"yes", "no"}


def _age_label(band: str) -> tuple[str, str]:
    if band == "unknown":
        return ("Ålder okänd", "Age not known")
    return (f"{band.replace('-', '–')} år", f"{band.replace('-', '–')} years")


def _parts(prefix: str, labels: Mapping[str, tuple[str, str]], total: str = "total") -> list[Column]:
    return [Column(key, f"{prefix}.{key}", sv, en, part_of=total) for key, (sv, en) in labels.items()]


_STARTED: Final = Column("total", "started", "Påbörjade", "Started")
_CLOSED: Final = Column("total", "closed", "Avslutade", "Closed")
_ATTENDANCE: Final = Column("attendance", "groups.attendance", "Deltagartillfällen", "Attendances")
_AGE_LABELS: Final = {band: _age_label(band) for band in AGE_BANDS}

TABLES: Final[dict[str, Table]] = {
    t.name: t
    for t in (
        Table(
            "participants",
            "Deltagare: påbörjade, pågående och avslutade",
            "Participants: started, ongoing, closed",
            "Cases (ärenden) opened in the period, open at its end, and closed in it.",
            "participants",
            (
                Column("started", "started", "Påbörjade", "Started"),
                Column("ongoing", ONGOING, "Pågående vid periodens slut", "Ongoing at the end of the period"),
                Column("closed", "closed", "Avslutade", "Closed"),
            ),
        ),
        Table(
            "started_by_gender",
            "Påbörjade efter kön",
            "Started by gender",
            "Participants who started in the period, by gender (jämställd socialtjänst).",
            "participants",
            (_STARTED, *_parts("started.gender", GENDER_LABELS)),
        ),
        Table(
            "started_by_age_band",
            "Påbörjade efter åldersgrupp",
            "Started by age band",
            "Participants who started in the period, by age band at the start (age only in bands).",
            "participants",
            (_STARTED, *_parts("started.age", _AGE_LABELS)),
        ),
        Table(
            "informed_of_right_to_apply",
            "Information om rätten att ansöka",
            "Informed of the right to apply",
            "Participants who started in the period and were told of the right to apply for needs-assessed "
            "interventions (informationsskyldighet, SoL 11 kap. 6 §). `share` is informed / started, given "
            "only when both are published.",
            "participants",
            (
                _STARTED,
                Column("informed", "started.informed.yes", "Informerade", "Informed", part_of="total"),
                Column("not_informed", "started.informed.no", "Ej informerade", "Not informed", part_of="total"),
                Column("share", None, "Andel informerade", "Share informed"),
            ),
        ),
        Table(
            "sessions_used",
            "Använda samtal/träffar vid avslut",
            "Sessions used, at closing",
            "Participants who closed in the period, by the number of sessions (samtal/träffar) they used.",
            "participants",
            (_CLOSED, *_parts("closed.sessions", {k: (k, k) for k in SESSIONS_USED})),
        ),
        Table(
            "closings_by_reason",
            "Avslut efter orsak",
            "Closings by reason",
            "Participants who closed in the period, by closing reason.",
            "participants",
            (_CLOSED, *_parts("closed.reason", {k: REASON_LABELS[k] for k in CLOSING_REASONS})),
        ),
        Table(
            "early_endings_by_reason",
            "Avbrott i förtid efter orsak",
            "Early endings by reason",
            "Participants who ended early in the period, by the coded reason (orsak till avbrott i förtid).",
            "participants",
            (
                Column("total", "closed.reason.ended_early", "Avbrutna i förtid", "Ended early"),
                *_parts("closed.early", {k: EARLY_LABELS[k] for k in EARLY_TERMINATION_REASONS}),
            ),
        ),
        Table(
            "wellbeing_change",
            "Förändring i skattat mående från start till avslut",
            "Change in wellbeing from start to end",
            "Participants who closed in the period, by the change in self-rated wellbeing (1–5) from the start "
            "to the end: a distribution, never pairs.",
            "participants",
            (_CLOSED, *_parts("closed.wellbeing", WELLBEING_LABELS)),
        ),
        Table(
            "participant_view",
            "Deltagarens uppfattning av insatsen",
            "The participant's view",
            "Participants who closed in the period, by how they perceived the intervention (1–5).",
            "participants",
            (_CLOSED, *_parts("closed.satisfaction", SATISFACTION_LABELS)),
        ),
        Table(
            "group_meetings",
            "Gruppträffar och deltagande efter kön",
            "Group meetings and attendance by gender",
            "Group meetings held in the period (stöd i grupp) and their attendance, by gender. An attendance is "
            "one participant at one meeting.",
            "attendances",
            (
                Column("meetings", MEETINGS, "Gruppträffar", "Meetings"),
                _ATTENDANCE,
                *_parts("groups.attendance.gender", GENDER_LABELS, total="attendance"),
            ),
        ),
        Table(
            "group_attendance_by_age_band",
            "Deltagande i gruppträffar efter åldersgrupp",
            "Group attendance by age band",
            "Attendances at group meetings held in the period, by age band.",
            "attendances",
            (_ATTENDANCE, *_parts("groups.attendance.age", _AGE_LABELS, total="attendance")),
        ),
    )
}

VARS: Final = sorted({v for t in TABLES.values() for v in t.vars})
# (total, parts) of every table: the same breakdown shown in two tables is one relation.
PARTITIONS: Final = sorted({(total, tuple(parts)) for t in TABLES.values() for total, parts in t.partitions()})


def protected(cell: CellId) -> bool:
    """Every count is protected, even of meetings: a published count is 0 or at least the threshold."""
    return True


def is_flow(var: str) -> bool:
    """Counts of events in a period (they add up over quarters); `ongoing` is a stock at the period's end."""
    return var != ONGOING


def canonical(cell: CellId) -> CellId:
    """The year's `ongoing` is its fourth quarter's: one cell, not two."""
    period, row, var = cell
    if var == ONGOING and len(period) == 4:
        return (f"{period}Q4", row, var)
    return cell


# --- the cube ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeetingFact:
    """One group meeting as counts: attendance by gender and (optionally) by age band."""

    unit: str
    intervention_id: str
    quarter: int
    participants: Mapping[str, int]
    age_bands: Mapping[str, int]
    record_key: int


_PREFIX: Final = {
    "gender": "started.gender",
    "age_band": "started.age",
    "informed": "started.informed",
    "reason": "closed.reason",
    "early_termination_reason": "closed.early",
    "wellbeing_change": "closed.wellbeing",
    "satisfaction": "closed.satisfaction",
    "sessions_used": "closed.sessions",
}


@dataclass
class Cube:
    """Counts (and sums of record keys) per quarter and complete year, from `first` to `last` quarter."""

    first: int
    last: int
    rows: list[str]
    values: dict[CellId, int] = field(default_factory=dict)  # sparse: a missing cell is 0
    keys: dict[CellId, int] = field(default_factory=dict)

    @property
    def quarters(self) -> list[Period]:
        return [Period.of_index(i) for i in range(self.first, self.last + 1)]

    @property
    def years(self) -> list[Period]:
        """The years all of whose quarters have ended."""
        return [Period(y) for y in range(self.first // 4, self.last // 4 + 1) if y * 4 + 3 <= self.last]

    @property
    def periods(self) -> list[Period]:
        return [*self.quarters, *self.years]

    def value(self, cell: CellId) -> int:
        return self.values.get(canonical(cell), 0)

    def covers(self, period: Period) -> bool:
        return max(period.quarter_indices) <= self.last


def _row_keys(unit: str, intervention_id: str) -> tuple[str, str, str]:
    return (COMMITTEE_ROW, f"unit:{unit}", f"intervention:{intervention_id}")


def _add(values: dict[CellId, int], keys: dict[CellId, int], cell: CellId, n: int, key: int) -> None:
    values[cell] = values.get(cell, 0) + n
    keys[cell] = keys.get(cell, 0) + key


def build_cube(counts: Iterable[FollowUpCount], meetings: Iterable[MeetingFact], *, last_quarter: int) -> Cube:
    """The cube from the counts of cases and the group meetings, through `last_quarter` (the last ended)."""
    counts = [c for c in counts if c.quarter <= last_quarter]
    meetings = [m for m in meetings if m.quarter <= last_quarter]
    quarters = [c.quarter for c in counts] + [m.quarter for m in meetings]
    first = (min(quarters) // 4 if quarters else last_quarter // 4) * 4
    rows: set[str] = {COMMITTEE_ROW}
    values: dict[CellId, int] = {}
    keys: dict[CellId, int] = {}
    for c in counts:
        period = str(Period.of_index(c.quarter))
        for row in _row_keys(c.unit, c.intervention_id):
            rows.add(row)
            if c.measure == "started" or any(d == "reason" for d, _ in c.categories):
                _add(values, keys, (period, row, c.measure), c.cases, c.key_sum)
            for dimension, category in c.categories:
                if category:  # an early-termination reason only for early endings
                    _add(values, keys, (period, row, f"{_PREFIX[dimension]}.{category}"), c.cases, c.key_sum)
    for m in meetings:
        period = str(Period.of_index(m.quarter))
        attendance = sum(m.participants.values())
        for row in _row_keys(m.unit, m.intervention_id):
            rows.add(row)
            _add(values, keys, (period, row, MEETINGS), 1, m.record_key)
            _add(values, keys, (period, row, "groups.attendance"), attendance, attendance * m.record_key)
            for gender, n in m.participants.items():
                _add(values, keys, (period, row, f"groups.attendance.gender.{gender}"), n, n * m.record_key)
            banded = sum(m.age_bands.values())
            for band, n in [*m.age_bands.items(), ("unknown", attendance - banded)]:
                _add(values, keys, (period, row, f"groups.attendance.age.{band}"), n, n * m.record_key)
    cube = Cube(first, last_quarter, sorted(rows, key=_row_order), {}, {})
    # Ongoing at each quarter's end: everything started so far, less everything closed so far.
    for row in cube.rows:
        running, running_keys = 0, 0
        for q in cube.quarters:
            started, closed = (str(q), row, "started"), (str(q), row, "closed")
            running += values.get(started, 0) - values.get(closed, 0)
            running_keys += keys.get(started, 0) - keys.get(closed, 0)
            if running:
                values[(str(q), row, ONGOING)] = running
                keys[(str(q), row, ONGOING)] = running_keys
    for year in cube.years:
        of_year = [str(q) for q in _quarters_of(year)]
        for (period, row, var), n in list(values.items()):
            if period in of_year and is_flow(var):
                _add(values, keys, (str(year), row, var), n, keys[(period, row, var)])
    cube.values = {cell: n for cell, n in sorted(values.items()) if n}
    cube.keys = {cell: keys[cell] for cell in cube.values}
    return cube


def _quarters_of(year: Period) -> list[Period]:
    return [Period.of_index(i) for i in year.quarter_indices]


def _row_order(row: str) -> tuple[int, str]:
    return ({"committee": 0, "unit": 1, "intervention": 2}[row.split(":", 1)[0]], row)


def relations(cube: Cube) -> list[Relation]:
    """Every way the cube's cells add up: what differencing could exploit. Deterministic order."""
    out: list[Relation] = []
    units = [r for r in cube.rows if r.startswith("unit:")]
    interventions = [r for r in cube.rows if r.startswith("intervention:")]
    for period in (str(p) for p in cube.periods):
        for row in cube.rows:
            # The parts of a table add up to their total.
            for total, parts in PARTITIONS:
                out.append((((period, row, total),), tuple((period, row, v) for v in parts)))
        for var in VARS:
            # Units, and interventions, add up to the committee.
            for members in (units, interventions):
                out.append((((period, COMMITTEE_ROW, var),), tuple((period, r, var) for r in members)))
    for year in cube.years:
        quarters = [str(q) for q in _quarters_of(year)]
        for row in cube.rows:
            for var in VARS:
                if is_flow(var):
                    out.append((((str(year), row, var),), tuple((q, row, var) for q in quarters)))
    for row in cube.rows:
        previous: str | None = None
        for q in (str(q) for q in cube.quarters):
            # Open at this quarter's end + closed in it = open at the last quarter's end + started in it.
            before = ((previous, row, ONGOING),) if previous else ()
            out.append((((q, row, ONGOING), (q, row, "closed")), (*before, (q, row, "started"))))
            previous = q
    canonical_out = [(tuple(canonical(c) for c in lhs), tuple(canonical(c) for c in rhs)) for lhs, rhs in out]
    return [r for r in canonical_out if any(cube.values.get(c) for c in (*r[0], *r[1]))]


def importance(cell: CellId) -> int:
    """How much a reader loses when the cell is hidden: committee rows, years and totals most."""
    period, row, var = cell
    total = var in {"started", "closed", ONGOING, "groups.attendance", "closed.reason.ended_early"}
    return 4 * (row == COMMITTEE_ROW) + 2 * (len(period) == 4) + int(total)


def publish(cube: Cube, method: Method, threshold: int) -> dict[CellId, int | None]:
    """The published count of every non-zero cell (a missing cell is a published 0); None: not published."""
    shown: dict[CellId, int | None] | None = None
    noise = 0
    if method is Method.cell_key:
        shown = {cell: cell_key_count(n, cube.keys.get(cell, 0), threshold) for cell, n in cube.values.items()}
        noise = MAX_PERTURBATION
    hidden = suppress(
        cube.values,
        relations(cube),
        threshold,
        protected=protected,
        importance=importance,
        shown=shown,
        noise=noise,
    )
    seen = cube.values if shown is None else shown
    return {cell: None if cell in hidden else seen[cell] for cell in cube.values}
