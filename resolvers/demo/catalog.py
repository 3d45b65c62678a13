"""The demo catalog, read from ``catalog.json`` next to this module and checked on import.

The file holds the skills and the modules, each module a certification, a name and its items in
the order a learner is meant to take them (the demo learners walk these lists from the top):

    {"skills": [{"id": ..., "name": ..., "domain": ...}, ...],
     "modules": [{"certification": ..., "name": ..., "items": [
         {"id": ..., "title": ..., "kind": "lesson", "skillIds": [...], "category": ...,
          "difficulty": "beginner", "estimatedMinutes": 20}, ...]}, ...]}

Item keys follow the GraphQL input's names; ``kind`` and ``difficulty`` take the values of
:class:`ContentKind` and :class:`Difficulty`. Every skill and item goes through the same checks
as a catalog upsert (``validate_skill``, ``validate_content_item``), and the file as a whole must
hold unique ids, only the keys above and only skills it defines. A file that breaks any of this
fails the import with :class:`DemoCatalogError`, naming the file and the field at fault (for
instance ``catalog.json: modules[2].items[4].estimatedMinutes: must be between 1 and 1440``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from domain.catalog import (
    ContentItem,
    ContentKind,
    Difficulty,
    Skill,
    validate_content_item,
    validate_skill,
)
from domain.errors import InvalidInput

CATALOG_FILE = Path(__file__).with_name("catalog.json")

SAA = "SAA"  # AWS Certified Solutions Architect - Associate
CCP = "CCP"  # AWS Certified Cloud Practitioner

_FILE_KEYS = frozenset({"skills", "modules"})
_SKILL_KEYS = frozenset({"id", "name", "domain"})
_MODULE_KEYS = frozenset({"certification", "name", "items"})
_ITEM_KEYS = frozenset(
    {"id", "title", "kind", "skillIds", "category", "difficulty", "estimatedMinutes"}
)

E = TypeVar("E", bound=StrEnum)


class DemoCatalogError(ValueError):
    """The demo catalog file is unreadable or breaks a rule; the message names the field."""


@dataclass(frozen=True)
class Catalog:
    skills: tuple[Skill, ...]
    content: tuple[ContentItem, ...]  # module by module, each in the order it is taken

    def path(self, certification: str) -> tuple[str, ...]:
        """The ids of a certification's items, in the order a learner takes them."""
        return tuple(item.id for item in self.content if item.certification == certification)


def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    """Reads and checks a catalog file; raises DemoCatalogError naming the file and field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DemoCatalogError(f"{path.name}: cannot be read: {error}") from error
    try:
        return parse_catalog(data)
    except InvalidInput as error:
        raise DemoCatalogError(f"{path.name}: {error.field}: {error.rule}") from error


def parse_catalog(data: object) -> Catalog:
    """The catalog a parsed file describes; raises InvalidInput naming the field."""
    root = _object(data, "", _FILE_KEYS)
    skills: list[Skill] = []
    for n, value in enumerate(_list(root["skills"], "skills")):
        skill = _skill(value, f"skills[{n}]")
        if any(skill.id == other.id for other in skills):
            raise InvalidInput(f"skills[{n}].id", f"'{skill.id}' appears more than once")
        skills.append(skill)
    known_skills = frozenset(skill.id for skill in skills)
    content: list[ContentItem] = []
    seen: set[str] = set()
    for m, value in enumerate(_list(root["modules"], "modules")):
        where = f"modules[{m}]"
        module = _object(value, where, _MODULE_KEYS)
        certification = _text(module, "certification", where)
        name = _text(module, "name", where)
        for n, fields in enumerate(_list(module["items"], f"{where}.items")):
            item = _item(fields, f"{where}.items[{n}]", certification, name, known_skills)
            if item.id in seen:
                raise InvalidInput(f"{where}.items[{n}].id", f"'{item.id}' appears more than once")
            seen.add(item.id)
            content.append(item)
    return Catalog(skills=tuple(skills), content=tuple(content))


def _skill(value: object, where: str) -> Skill:
    fields = _object(value, where, _SKILL_KEYS, required=frozenset({"id", "name"}))
    skill = Skill(
        id=_text(fields, "id", where),
        name=_text(fields, "name", where),
        domain=_optional_text(fields, "domain", where),
    )
    return validate_skill(skill, where)


def _item(
    value: object, where: str, certification: str, module: str, known_skills: frozenset[str]
) -> ContentItem:
    fields = _object(value, where, _ITEM_KEYS, required=frozenset({"id", "title", "kind"}))
    skill_ids = tuple(
        _string(skill_id, f"{where}.skillIds[{n}]")
        for n, skill_id in enumerate(_list(fields.get("skillIds", []), f"{where}.skillIds"))
    )
    difficulty = fields.get("difficulty")
    item = validate_content_item(
        ContentItem(
            id=_text(fields, "id", where),
            title=_text(fields, "title", where),
            kind=_enum(ContentKind, fields["kind"], f"{where}.kind"),
            skill_ids=skill_ids,
            category=_optional_text(fields, "category", where),
            difficulty=None
            if difficulty is None
            else _enum(Difficulty, difficulty, f"{where}.difficulty"),
            certification=certification,
            module=module,
            estimated_minutes=_optional_int(fields, "estimatedMinutes", where),
        ),
        where,
    )
    for n, skill_id in enumerate(item.skill_ids):
        if skill_id not in known_skills:
            raise InvalidInput(f"{where}.skillIds[{n}]", f"unknown skill '{skill_id}'")
    return item


# --- reading JSON values ---------------------------------------------------------------------


def _object(
    value: object, where: str, keys: frozenset[str], *, required: frozenset[str] | None = None
) -> Mapping[str, object]:
    """A JSON object holding only `keys`, and all of `required` (by default all of `keys`)."""
    if not isinstance(value, dict):
        raise InvalidInput(where or "(file)", "must be a JSON object")
    for key in value:
        if key not in keys:
            raise InvalidInput(_join(where, key), f"unknown key (expected one of {sorted(keys)})")
    for key in sorted(keys if required is None else required):
        if key not in value:
            raise InvalidInput(_join(where, key), "is required")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise InvalidInput(where, "must be a JSON array")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(where, "must be a string")
    return value


def _text(fields: Mapping[str, object], key: str, where: str) -> str:
    return _string(fields[key], _join(where, key))


def _optional_text(fields: Mapping[str, object], key: str, where: str) -> str | None:
    value = fields.get(key)
    return None if value is None else _string(value, _join(where, key))


def _optional_int(fields: Mapping[str, object], key: str, where: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(_join(where, key), "must be a whole number")
    return value


def _enum(kind: type[E], value: object, where: str) -> E:
    for member in kind:
        if member.value == value:
            return member
    allowed = ", ".join(member.value for member in kind)
    raise InvalidInput(where, f"must be one of {allowed}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


CATALOG = load_catalog()
SKILLS: tuple[Skill, ...] = CATALOG.skills
CONTENT: tuple[ContentItem, ...] = CATALOG.content
ITEMS: dict[str, ContentItem] = {item.id: item for item in CONTENT}
SAA_PATH = CATALOG.path(SAA)
CCP_PATH = CATALOG.path(CCP)
if not SAA_PATH or not CCP_PATH:  # the demo learners walk these
    raise DemoCatalogError(f"{CATALOG_FILE.name}: modules: needs items of both {SAA} and {CCP}")
