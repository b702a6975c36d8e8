"""What a provider must tell the person (informationsskyldighet), as stable codes in Swedish and English.

Pure constants and small builders, no I/O. The texts that name a committee are built once per
committee when an intervention's rules are compiled, never per check.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.catalog.domain import DocumentationRule, SubjectRule


@dataclass(frozen=True, slots=True)
class Notice:
    """Information the provider must pass on to the person, with the paragraph it follows from."""

    code: str
    paragraph: str
    text_sv: str
    text_en: str


@dataclass(frozen=True, slots=True)
class RequiredAction:
    """Something that must happen before (or instead of) the intervention.

    `committee`/`committee_name` say where to turn when the action is an application.
    """

    code: str
    message_sv: str
    message_en: str
    committee: str | None = None
    committee_name: str | None = None


RIGHT_TO_APPLY = "right_to_apply"
DOCUMENTATION_STANDARD = "documentation_standard"
DOCUMENTATION_COUNSELLING_EXEMPT = "documentation_counselling_exempt"
DOCUMENTATION_IDENTITY_EXEMPT = "documentation_identity_exempt"
GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required"

OBTAIN_GUARDIAN_CONSENT = "obtain_guardian_consent"
APPLY_FOR_NEEDS_ASSESSED_INTERVENTION = "apply_for_needs_assessed_intervention"


def right_to_apply(committee_name: str) -> Notice:
    # SoL 11:6: the provider informs of the right to apply for needs-assessed interventions (11:1).
    return Notice(
        RIGHT_TO_APPLY,
        "SoL 11:6",
        "Du har alltid rätt att ansöka om insatser och få din ansökan prövad, även om insatsen "
        "ges utan individuell behovsprövning. Ansökan görs hos socialtjänsten, "
        f"{committee_name}.",
        "You always have the right to apply for interventions and have your application assessed, "
        "even for an intervention given without an individual needs assessment. Apply to the "
        f"social services, {committee_name}.",
    )


_STANDARD_SV = (
    "Under insatsen dokumenteras åtgärder, faktiska omständigheter och händelser av betydelse "
    "(14 kap. 3 § SoL). Du registreras i socialtjänstens verksamhetssystem; handlingarna blir "
    "allmänna handlingar som skyddas av sekretess, och socialtjänsten kan vara skyldig att uppge "
    "att du har ett ärende."
)
_STANDARD_EN = (
    "While the intervention is carried out, actions, facts and significant events are documented "
    "(SoL chapter 14 section 3). You will be registered in the social services' case system; the "
    "records are official documents protected by secrecy, and the social services may be obliged "
    "to disclose that you have a case."
)
_CHILD_SUBJECT_SV = " Ärendet registreras på barnets personnummer."
_CHILD_SUBJECT_EN = " The case is registered on the child's personnummer."

DOCUMENTATION_NOTICES: dict[DocumentationRule, Notice] = {
    # SoL 14:3: the carrying-out is documented, and the person is registered.
    DocumentationRule.standard: Notice(DOCUMENTATION_STANDARD, "SoL 14:3", _STANDARD_SV, _STANDARD_EN),
    # SoL 14:4: no duty to document personal circumstances during counselling.
    DocumentationRule.counselling_exempt: Notice(
        DOCUMENTATION_COUNSELLING_EXEMPT,
        "SoL 14:4",
        "Insatsen är rådgivning: uppgifter om dina personliga förhållanden dokumenteras inte "
        "(14 kap. 4 § SoL). Övergripande uppgifter som behövs för att följa upp verksamheten "
        "dokumenteras, utan uppgifter som pekar ut dig.",
        "The intervention is counselling: your personal circumstances are not documented "
        "(SoL chapter 14 section 4). General information needed to follow up the activity is "
        "documented, without anything that points to you.",
    ),
    # SoL 14:5: the committee decided that identity-revealing data is not documented.
    DocumentationRule.identity_exempt: Notice(
        DOCUMENTATION_IDENTITY_EXEMPT,
        "SoL 14:5",
        "Socialnämnden har beslutat att uppgifter som kan röja din identitet inte dokumenteras i "
        "denna insats (14 kap. 5 § SoL). Avidentifierade uppgifter dokumenteras ändå: till exempel "
        "ålder, kön, hur du mår vid start och avslut, problem under insatsen, skäl till avslut i "
        "förtid och hur du har upplevt insatsen.",
        "The social committee has decided that information that could reveal your identity is not "
        "documented for this intervention (SoL chapter 14 section 5). De-identified information is "
        "still documented: for example age, gender, your wellbeing at the start and the end, "
        "problems during the intervention, reasons for ending early and how you experienced it.",
    ),
}


def documentation_notice(rule: DocumentationRule, subject_rule: SubjectRule) -> Notice:
    """What will be documented for an intervention, and under which paragraph (SoL 14:3-5)."""
    notice = DOCUMENTATION_NOTICES[rule]
    if rule is DocumentationRule.standard and subject_rule is SubjectRule.child:
        return Notice(
            notice.code,
            notice.paragraph,
            notice.text_sv + _CHILD_SUBJECT_SV,
            notice.text_en + _CHILD_SUBJECT_EN,
        )
    return notice


# SoL 21:2: a child under 15 takes part only with the guardian's consent.
GUARDIAN_CONSENT_NOTICE = Notice(
    GUARDIAN_CONSENT_REQUIRED,
    "SoL 21:2",
    "Ett barn som inte har fyllt 15 år får delta i insatsen bara med vårdnadshavarens samtycke (21 kap. 2 § SoL).",
    "A child under 15 may take part in the intervention only with the guardian's consent (SoL chapter 21 section 2).",
)

OBTAIN_GUARDIAN_CONSENT_ACTION = RequiredAction(
    OBTAIN_GUARDIAN_CONSENT,
    "Inhämta vårdnadshavarens samtycke innan insatsen påbörjas (21 kap. 2 § SoL).",
    "Obtain the guardian's consent before the intervention starts (SoL chapter 21 section 2).",
)


def apply_for_needs_assessed(committee: str, committee_name: str) -> RequiredAction:
    """The bridge to the ordinary route: where to apply when the IUB route has run out."""
    return RequiredAction(
        APPLY_FOR_NEEDS_ASSESSED_INTERVENTION,
        "Insatsen kan inte fortsätta utan ett behovsprövat beslut. Personen kan ansöka om insatser "
        f"hos socialtjänsten, {committee_name}.",
        "The intervention cannot continue without a needs-assessed decision. The person can apply "
        f"for interventions to the social services, {committee_name}.",
        committee=committee,
        committee_name=committee_name,
    )
