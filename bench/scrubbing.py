"""Scrubbing (SoL 14 kap. 5 §): how much identity the patterns remove, and how much else they touch.

Without `known_identity` only patterns protect an exempted case's free text. Two generated
corpora (`bench/scrub_corpus.py`, seeded, so every run scores the same sentences):

- recall: sentences of a journal note with one identity value written one of the ways people
  write it (personnummer spread out, mistyped or disguised; phone numbers in many notations and
  with other country codes; written-out e-mail addresses; street addresses, boxes, postcodes
  with towns) among dates, amounts, counts and times. A sample counts as caught when exactly
  the value is replaced by a placeholder and everything around it is kept as written;
- false positives: identity-free sentences with dates, amounts, counts, times and case
  numbers. A sentence counts when the scrubber changes anything in it.

Names are not in the corpus: no pattern can find them (the API's `known_identity` does).
"""

from __future__ import annotations

import random
from collections import Counter

from app.cases.redaction import PLACEHOLDERS, SOL_14_5, KnownIdentity, scrub_text
from bench.harness import RunConfig, Section, SectionReport, per_call
from bench.scrub_corpus import IdentitySample, RandomChooser, harmless_sentence, identity_sample

SEED = 9
RECALL_TARGET = 0.99
FALSE_POSITIVE_TARGET = 0.01
NOBODY = KnownIdentity.of()
_PLACEHOLDERS = frozenset(PLACEHOLDERS.values())


def _caught(sample: IdentitySample, scrubbed: str) -> bool:
    before, after = sample.text[: sample.start], sample.text[sample.end :]
    if not (scrubbed.startswith(before) and scrubbed.endswith(after)):
        return False
    return scrubbed[len(before) : len(scrubbed) - len(after)] in _PLACEHOLDERS


def _scrub(text: str) -> str:
    return scrub_text(text, NOBODY, path="text", rule=SOL_14_5)[0]


async def run(config: RunConfig) -> SectionReport:
    report = SectionReport("Scrubbing free text without known_identity (SoL 14:5)")
    size = config.scale(20_000, 2_000)
    chooser = RandomChooser(random.Random(SEED))
    samples = [identity_sample(chooser) for _ in range(size)]
    sentences = [harmless_sentence(chooser) for _ in range(size)]

    by_kind: Counter[str] = Counter()
    missed_by_kind: Counter[str] = Counter()
    missed_styles: Counter[str] = Counter()
    removed = 0
    for sample in samples:
        scrubbed = _scrub(sample.text)
        by_kind[sample.kind] += 1
        if sample.value not in scrubbed:
            removed += 1
        if not _caught(sample, scrubbed):
            missed_by_kind[sample.kind] += 1
            missed_styles[f"{sample.kind}: {sample.style}"] += 1
    changed = [s for s in sentences if _scrub(s) != s]

    recall = 1 - sum(missed_by_kind.values()) / size
    false_positives = len(changed) / size
    report.add(
        "Recall: identity values replaced exactly",
        f"{recall:.2%} of {size:,}",
        f">= {RECALL_TARGET:.0%}",
        recall >= RECALL_TARGET,
    )
    for kind in sorted(by_kind):
        caught = 1 - missed_by_kind[kind] / by_kind[kind]
        report.add(f"Recall: {kind}", f"{caught:.2%} of {by_kind[kind]:,}")
    report.add("Identity values no longer in the text (exact or not)", f"{removed / size:.2%}")
    report.add(
        "False positives: identity-free sentences changed",
        f"{false_positives:.2%} of {size:,}",
        f"<= {FALSE_POSITIVE_TARGET:.0%}",
        false_positives <= FALSE_POSITIVE_TARGET,
    )

    mixed = [s.text for s in samples[:500]] + sentences[:500]

    def scrub_all() -> int:
        for text in mixed:
            _scrub(text)
        return len(mixed)

    seconds = per_call(scrub_all, rounds=3)
    report.add("Scrubbing: µs per sentence", f"{seconds * 1e6:.1f}")

    styles = sum(1 for _ in {s.style for s in samples})
    report.note(
        f"Corpus: seeded ({SEED}); {styles} ways of writing across personnummer (Skatteverket's test numbers, "
        "a third with a wrong check digit), phone numbers (PTS fiction ranges, Ofcom's drama range), "
        "e-mail addresses (example.com/.se) and addresses, each inside a Swedish sentence with dates, "
        "amounts, counts, times or case numbers. Names are out of scope for patterns."
    )
    if missed_styles:
        worst = ", ".join(f"{style} ({n})" for style, n in missed_styles.most_common(5))
        report.note(f"Missed most often: {worst}.")
    if changed:
        report.note("Changed identity-free sentences, e.g.: " + " | ".join(changed[:3]))
    return report


SECTION = Section("scrubbing", run)
