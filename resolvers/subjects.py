"""The subjects of the Subject Master badge, read from the catalog and kept for a while.

A subject is a catalog category (the skills its items teach) or an exam domain of a certification
(the skills it names). The recorder needs them for every unit that masters a skill; reading the
whole catalog each time would cost more than the unit, so they are kept for `ttl` and read again
after, or at once when this process changes the catalog (`invalidate`). A change made by another
process reaches this one within `ttl`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.achievements import category_subject, domain_subject
from persistence.repositories import Repositories

DEFAULT_TTL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Subjects:
    skills: Mapping[str, frozenset[str]] = field(default_factory=dict)
    of_skill: Mapping[str, frozenset[str]] = field(default_factory=dict)


class SubjectIndex:
    def __init__(self, repositories: Repositories, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self._repos = repositories
        self._ttl = ttl
        self._value: Subjects | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._value = None

    async def get(self) -> Subjects:
        value = self._value
        if value is not None and time.monotonic() - self._read_at < self._ttl:
            return value
        async with self._lock:
            value = self._value
            if value is None or time.monotonic() - self._read_at >= self._ttl:
                value = self._value = await self._read()
                self._read_at = time.monotonic()
            return value

    async def _read(self) -> Subjects:
        skills: dict[str, frozenset[str]] = {
            category_subject(category): ids
            for category, ids in (await self._repos.content.skills_by_category()).items()
        }
        for certification in await self._repos.certifications.all():
            for domain in certification.domains:
                if domain.skill_ids:
                    key = domain_subject(certification.id, domain.id)
                    skills[key] = frozenset(domain.skill_ids)
        of_skill: dict[str, set[str]] = {}
        for subject, ids in skills.items():
            for skill_id in ids:
                of_skill.setdefault(skill_id, set()).add(subject)
        return Subjects(
            skills=skills, of_skill={skill: frozenset(s) for skill, s in of_skill.items()}
        )
