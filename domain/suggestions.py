"""The next best items for a learner: named, ranked, each with its reason and minutes.

Three sources, in this order: items due for review (the least likely to be recalled first:
forgetting is what a review repairs), unfinished items of the weakest exam domains (what raises
the pass probability most), then the next new items of the learner's certifications. An item
appears once, under its first reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from domain.catalog import ContentItem, ContentKind

# Minutes an item takes when the catalog does not say.
DEFAULT_MINUTES: dict[ContentKind, int] = {
    ContentKind.LESSON: 10,
    ContentKind.QUESTION: 2,
    ContentKind.LAB: 30,
    ContentKind.QUIZ: 10,
    ContentKind.PRACTICE: 15,
}


class SuggestionReason(StrEnum):
    REVIEW_DUE = "review_due"
    WEAK_DOMAIN = "weak_domain"
    NEXT_UP = "next_up"


@dataclass(frozen=True, slots=True)
class Suggestion:
    rank: int
    item: ContentItem
    reason: SuggestionReason
    message: str
    minutes: int


@dataclass(frozen=True, slots=True)
class DueItem:
    item: ContentItem
    recall: float  # probability of recalling it now


@dataclass(frozen=True, slots=True)
class WeakDomainItems:
    domain: str
    mastery: float
    items: tuple[ContentItem, ...]


def minutes_for(item: ContentItem) -> int:
    return item.estimated_minutes or DEFAULT_MINUTES[item.kind]


def suggest(
    *,
    due: Sequence[DueItem],
    weak: Sequence[WeakDomainItems],
    next_up: Sequence[ContentItem],
    limit: int,
) -> list[Suggestion]:
    candidates: list[tuple[ContentItem, SuggestionReason, str]] = []
    for entry in sorted(due, key=lambda d: (d.recall, d.item.id)):
        candidates.append(
            (
                entry.item,
                SuggestionReason.REVIEW_DUE,
                f"Due for review: {entry.recall:.0%} chance of recalling it now",
            )
        )
    for domain in weak:
        for item in domain.items:
            candidates.append(
                (
                    item,
                    SuggestionReason.WEAK_DOMAIN,
                    f"Strengthens {domain.domain} ({domain.mastery:.0%} mastered)",
                )
            )
    for item in next_up:
        candidates.append((item, SuggestionReason.NEXT_UP, "Next up in your study path"))
    seen: set[str] = set()
    chosen: list[Suggestion] = []
    for item, reason, message in candidates:
        if item.id in seen:
            continue
        seen.add(item.id)
        chosen.append(Suggestion(len(chosen) + 1, item, reason, message, minutes_for(item)))
        if len(chosen) == limit:
            break
    return chosen


# --- interventions: what an educator could do for a group -------------------------------------

# An item or skill is worth going over with the class when fewer than this share of at least
# MIN_ANSWERS answers were right.
RETEACH_BELOW = 60.0
MIN_ANSWERS = 5
# A class is drifting when fewer than this share of its members studied in the last 7 days.
RE_ENGAGE_BELOW = 0.5


class InterventionKind(StrEnum):
    RE_ENGAGE = "re_engage"
    RETEACH_ITEM = "reteach_item"
    PRACTISE_SKILL = "practise_skill"
    REACH_OUT = "reach_out"


@dataclass(frozen=True, slots=True)
class Intervention:
    rank: int
    kind: InterventionKind
    message: str
    learner_id: str | None = None
    content_id: str | None = None
    skill_id: str | None = None


@dataclass(frozen=True, slots=True)
class HardConcept:
    """An item or skill the group finds hard: its id, name, and how it went."""

    id: str
    name: str
    success_rate: float  # percent
    answers: int
    learners: int


@dataclass(frozen=True, slots=True)
class LearnerAtRisk:
    learner_id: str
    name: str
    reasons: tuple[str, ...]  # the risk reasons' messages, most important first


def intervene(
    *,
    members: int,
    active_last_7_days: int,
    hardest_item: HardConcept | None,
    hardest_skill: HardConcept | None,
    at_risk: Sequence[LearnerAtRisk],
    limit: int,
) -> list[Intervention]:
    """Suggestions for the whole class first (re-engage it, go over its hardest item, plan
    practice on its hardest skill), then one for each learner at risk, in the order given."""
    found: list[Intervention] = []
    if members and active_last_7_days < members * RE_ENGAGE_BELOW:
        found.append(
            Intervention(
                0,
                InterventionKind.RE_ENGAGE,
                f"Only {active_last_7_days} of {members} members studied in the last 7 days: "
                "set the class a short goal for this week.",
            )
        )
    if hardest_item is not None and _worth_reteaching(hardest_item):
        found.append(
            Intervention(
                0,
                InterventionKind.RETEACH_ITEM,
                f"Go over “{hardest_item.name}” with the class: "
                f"{hardest_item.success_rate:.0f} % of {hardest_item.answers} answers were right.",
                content_id=hardest_item.id,
            )
        )
    if hardest_skill is not None and _worth_reteaching(hardest_skill):
        found.append(
            Intervention(
                0,
                InterventionKind.PRACTISE_SKILL,
                f"Plan practice on {hardest_skill.name}: {hardest_skill.success_rate:.0f} % of "
                f"answers right across {hardest_skill.learners} learners.",
                skill_id=hardest_skill.id,
            )
        )
    for learner in at_risk:
        reason = learner.reasons[0] if learner.reasons else "At risk"
        found.append(
            Intervention(
                0,
                InterventionKind.REACH_OUT,
                f"Check in with {learner.name}: {reason[:1].lower()}{reason[1:]}.",
                learner_id=learner.learner_id,
            )
        )
    return [replace(item, rank=n + 1) for n, item in enumerate(found[:limit])]


def _worth_reteaching(concept: HardConcept) -> bool:
    return concept.answers >= MIN_ANSWERS and concept.success_rate < RETEACH_BELOW
