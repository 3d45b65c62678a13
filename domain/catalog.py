"""The catalog: content items and the skills they train."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import InvalidInput
from domain.mastery import BktParams

MAX_ID_LENGTH = 128
MAX_TITLE_LENGTH = 300
MAX_ESTIMATED_MINUTES = 24 * 60
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-/]*$")


class ContentKind(StrEnum):
    LESSON = "lesson"
    QUESTION = "question"
    LAB = "lab"
    QUIZ = "quiz"
    PRACTICE = "practice"


class Difficulty(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


@dataclass(frozen=True, slots=True)
class Skill:
    id: str
    name: str
    domain: str | None = None
    bkt: BktParams | None = None


@dataclass(frozen=True, slots=True)
class ContentItem:
    id: str
    title: str
    kind: ContentKind
    skill_ids: tuple[str, ...] = ()
    category: str | None = None
    difficulty: Difficulty | None = None
    certification: str | None = None
    module: str | None = None
    estimated_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class CatalogCounts:
    """How many content items the catalog holds, overall and per certification."""

    total: int = 0
    by_certification: dict[str, int] = field(default_factory=dict)

    def items_in(self, certification: str | None) -> int:
        if certification is None:
            return self.total
        return self.by_certification.get(certification, 0)


def check_id(value: str, field_name: str) -> str:
    if not value or len(value) > MAX_ID_LENGTH or not _ID_PATTERN.fullmatch(value):
        raise InvalidInput(
            field_name,
            f"must be 1-{MAX_ID_LENGTH} characters of letters, digits and . _ : - /, "
            "starting with a letter or digit",
        )
    return value


def check_text(value: str, field_name: str, *, max_length: int = MAX_TITLE_LENGTH) -> str:
    stripped = value.strip()
    if not stripped or len(stripped) > max_length:
        raise InvalidInput(field_name, f"must be 1-{max_length} characters, not blank")
    if not is_unicode(stripped):
        raise InvalidInput(field_name, "must be valid Unicode (it holds a lone surrogate)")
    return stripped


def is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate, which JSON lets through and UTF-8 cannot store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_optional_label(value: str | None, field_name: str) -> str | None:
    if value is None:
        return None
    return check_text(value, field_name, max_length=MAX_ID_LENGTH)


def validate_content_item(item: ContentItem, field_prefix: str) -> ContentItem:
    """Returns the item with normalised text, or raises InvalidInput naming the field."""
    check_id(item.id, f"{field_prefix}.id")
    for index, skill_id in enumerate(item.skill_ids):
        check_id(skill_id, f"{field_prefix}.skillIds[{index}]")
    if len(set(item.skill_ids)) != len(item.skill_ids):
        raise InvalidInput(f"{field_prefix}.skillIds", "must not repeat a skill")
    if item.estimated_minutes is not None and not (
        0 < item.estimated_minutes <= MAX_ESTIMATED_MINUTES
    ):
        raise InvalidInput(
            f"{field_prefix}.estimatedMinutes", f"must be between 1 and {MAX_ESTIMATED_MINUTES}"
        )
    return ContentItem(
        id=item.id,
        title=check_text(item.title, f"{field_prefix}.title"),
        kind=item.kind,
        skill_ids=item.skill_ids,
        category=check_optional_label(item.category, f"{field_prefix}.category"),
        difficulty=item.difficulty,
        certification=check_optional_label(item.certification, f"{field_prefix}.certification"),
        module=check_optional_label(item.module, f"{field_prefix}.module"),
        estimated_minutes=item.estimated_minutes,
    )


def validate_skill(skill: Skill, field_prefix: str) -> Skill:
    check_id(skill.id, f"{field_prefix}.id")
    if skill.bkt is not None:
        skill.bkt.validate(f"{field_prefix}.bkt")
    return Skill(
        id=skill.id,
        name=check_text(skill.name, f"{field_prefix}.name"),
        domain=check_optional_label(skill.domain, f"{field_prefix}.domain"),
        bkt=skill.bkt,
    )
