"""Catalog types: content items and skills."""

from __future__ import annotations

from typing import Self

import strawberry

from domain import catalog
from domain.mastery import BktParams
from schema.nodes import Node

ContentKind = strawberry.enum(catalog.ContentKind, description="What kind of content an item is.")
Difficulty = strawberry.enum(catalog.Difficulty, description="How hard an item is.")


@strawberry.type(description="Bayesian Knowledge Tracing parameters of a skill.")
class BktParameters:
    prior: float = strawberry.field(description="P(L0): known before any practice.")
    learn: float = strawberry.field(description="P(T): learnt at each opportunity.")
    guess: float = strawberry.field(description="P(G): correct without knowing.")
    slip: float = strawberry.field(description="P(S): wrong despite knowing.")

    @classmethod
    def from_domain(cls, params: BktParams) -> Self:
        return cls(prior=params.prior, learn=params.learn, guess=params.guess, slip=params.slip)


@strawberry.type(description="A skill content trains; may belong to a domain or subject.")
class Skill(Node):
    skill_id: str = strawberry.field(name="skillId")
    name: str
    domain: str | None
    bkt: BktParameters | None = strawberry.field(
        description="Overrides of the default tracing parameters, if any."
    )

    def local_id(self) -> str:
        return self.skill_id

    @classmethod
    def from_domain(cls, skill: catalog.Skill) -> Self:
        return cls(
            skill_id=skill.id,
            name=skill.name,
            domain=skill.domain,
            bkt=BktParameters.from_domain(skill.bkt) if skill.bkt else None,
        )


@strawberry.type(description="A lesson, question, lab, quiz or practice in the catalog.")
class ContentItem(Node):
    content_id: str = strawberry.field(name="contentId")
    title: str
    kind: ContentKind  # type: ignore[valid-type]
    skill_ids: list[str]
    category: str | None
    difficulty: Difficulty | None  # type: ignore[valid-type]
    certification: str | None
    module: str | None
    estimated_minutes: int | None

    def local_id(self) -> str:
        return self.content_id

    @classmethod
    def from_domain(cls, item: catalog.ContentItem) -> Self:
        return cls(
            content_id=item.id,
            title=item.title,
            kind=item.kind,
            skill_ids=list(item.skill_ids),
            category=item.category,
            difficulty=item.difficulty,
            certification=item.certification,
            module=item.module,
            estimated_minutes=item.estimated_minutes,
        )


@strawberry.input(description="Tracing parameters, each a probability between 0 and 1.")
class BktParametersInput:
    prior: float = 0.1
    learn: float = 0.1
    guess: float = 0.2
    slip: float = 0.1


@strawberry.input(description="A content item to create or replace.")
class ContentItemInput:
    id: str
    title: str
    kind: ContentKind  # type: ignore[valid-type]
    skill_ids: list[str] = strawberry.field(default_factory=list)
    category: str | None = None
    difficulty: Difficulty | None = None  # type: ignore[valid-type]
    certification: str | None = None
    module: str | None = None
    estimated_minutes: int | None = None

    def to_domain(self) -> catalog.ContentItem:
        return catalog.ContentItem(
            id=self.id,
            title=self.title,
            kind=self.kind,
            skill_ids=tuple(self.skill_ids),
            category=self.category,
            difficulty=self.difficulty,
            certification=self.certification,
            module=self.module,
            estimated_minutes=self.estimated_minutes,
        )


@strawberry.input(description="A skill to create or replace.")
class SkillInput:
    id: str
    name: str
    domain: str | None = None
    bkt: BktParametersInput | None = None

    def to_domain(self) -> catalog.Skill:
        bkt = self.bkt
        return catalog.Skill(
            id=self.id,
            name=self.name,
            domain=self.domain,
            bkt=None if bkt is None else BktParams(bkt.prior, bkt.learn, bkt.guess, bkt.slip),
        )
