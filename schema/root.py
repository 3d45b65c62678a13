"""Query, Mutation and Subscription: each field delegates to a use case in a line or two."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from domain.errors import DomainError, InvalidInput
from domain.levels import level_for
from resolvers import access, catalog, gamification, learners, reading
from schema.catalog import ContentItem, ContentItemInput, Skill, SkillInput
from schema.connections import Connection, decode_cursor
from schema.context import Info
from schema.errors import as_graphql_error
from schema.events import RecordEventInput, RecordEventResult, RecordEventsPayload
from schema.gamification import (
    AchievementDefinition,
    AchievementInput,
    AchievementUnlock,
    AwardPointsInput,
    AwardPointsPayload,
    Level,
    PointsEntry,
)
from schema.learners import Learner, LearnerInput
from schema.nodes import Node, from_global_id
from schema.progress import ContentProgress

MAX_LEARNERS = 200


def unlock_seq(unlock_id: str, learner_id: str) -> int:
    """The sequence number inside an AchievementUnlock id, checked to be this learner's."""
    type_name, local_id = from_global_id(unlock_id, "after")
    owner, _, seq = local_id.partition("|")
    if type_name != "AchievementUnlock" or owner != learner_id or not seq.isdigit():
        raise InvalidInput("after", "must be the id of one of this learner's unlocks")
    return int(seq)


async def _learner(info: Info, learner_id: str) -> Learner | None:
    access.check_can_read_learner(info.context.viewer, learner_id)
    found = await info.context.loaders.learner.load(learner_id)
    return Learner.from_domain(found) if found else None


@strawberry.type
class Query:
    @strawberry.field(description="Fetches any object by its global id (Relay).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, local_id = from_global_id(id)
        loaders = info.context.loaders
        if type_name == "Learner":
            return await _learner(info, local_id)
        if type_name == "ContentItem":
            item = await loaders.content.load(local_id)
            return ContentItem.from_domain(item) if item else None
        if type_name == "Skill":
            skill = await loaders.skill.load(local_id)
            return Skill.from_domain(skill) if skill else None
        if type_name == "AchievementUnlock":
            learner_id, _, seq = local_id.partition("|")
            access.check_can_read_learner(info.context.viewer, learner_id)
            unlocks = await loaders.unlocks.load(learner_id)
            found_unlock = next((u for u in unlocks if str(u.seq) == seq), None)
            return AchievementUnlock.from_domain(found_unlock) if found_unlock else None
        if type_name == "ContentProgress":
            learner_id, _, content_id = local_id.partition("|")
            access.check_can_read_learner(info.context.viewer, learner_id)
            found = await reading.progress_on(loaders, learner_id, content_id)
            return ContentProgress.from_domain(found) if found else None
        return None

    @strawberry.field(description="A learner by id, or null if unknown.")
    async def learner(self, info: Info, id: str) -> Learner | None:
        return await _learner(info, id)

    @strawberry.field(description="Learners by id (at most 200), null for unknown ids.")
    async def learners(self, info: Info, ids: list[str]) -> list[Learner | None]:
        if len(ids) > MAX_LEARNERS:
            raise InvalidInput("ids", f"must hold at most {MAX_LEARNERS} ids")
        for learner_id in ids:
            access.check_can_read_learner(info.context.viewer, learner_id)
        found = await info.context.loaders.learner.load_many(ids)
        return [Learner.from_domain(f) if f else None for f in found]

    @strawberry.field(description="Every achievement rule, by key.")
    async def achievement_definitions(self, info: Info) -> list[AchievementDefinition]:
        definitions = await info.context.loaders.achievements.load("all")
        return [AchievementDefinition.from_domain(d) for d in definitions]

    @strawberry.field(description="A content item by id, or null if unknown.")
    async def content_item(self, info: Info, id: str) -> ContentItem | None:
        found = await info.context.loaders.content.load(id)
        return ContentItem.from_domain(found) if found else None

    @strawberry.field(description="The catalog's content items by id; at most 100 a page.")
    async def content_items(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        certification: str | None = None,
    ) -> Connection[ContentItem]:
        page = await catalog.content_page(
            info.context.repositories,
            certification=certification,
            first=first,
            after=decode_cursor(after),
        )
        return Connection.of_page(
            page, key=lambda item: item.id, view=ContentItem.from_domain, after=after
        )

    @strawberry.field(description="The catalog's skills by id; at most 100 a page.")
    async def skills(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Skill]:
        page = await catalog.skills_page(
            info.context.repositories, first=first, after=decode_cursor(after)
        )
        return Connection.of_page(
            page, key=lambda skill: skill.id, view=Skill.from_domain, after=after
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Records one event. Safe to retry with the same eventId.")
    async def record_event(self, info: Info, input: RecordEventInput) -> RecordEventResult:
        access.check_can_record_for(info.context.viewer, input.learner_id)
        result = await info.context.services.recorder.record_one(
            input.to_domain(), received_at=info.context.now()
        )
        return RecordEventResult.from_domain(result)

    @strawberry.mutation(
        description="Records up to 1,000 events (offline sync); each stands or falls alone."
    )
    async def record_events(
        self, info: Info, inputs: list[RecordEventInput]
    ) -> RecordEventsPayload:
        for event in inputs:
            access.check_can_record_for(info.context.viewer, event.learner_id)
        results = await info.context.services.recorder.record_many(
            [event.to_domain() for event in inputs], received_at=info.context.now()
        )
        return RecordEventsPayload.from_domain(results)

    @strawberry.mutation(description="Gives a learner points by hand (admin).")
    async def award_points(self, info: Info, input: AwardPointsInput) -> AwardPointsPayload:
        access.check_is_admin(info.context.viewer)
        award = await gamification.award_points(
            info.context.services.transactions,
            learner_id=input.learner_id,
            award_id=input.award_id,
            amount=input.amount,
            reason=input.reason,
            awarded_by=info.context.viewer.id or "admin",
            now=info.context.now(),
        )
        level = level_for(award.total, info.context.services.gamification.levels)
        return AwardPointsPayload(
            entry=PointsEntry.from_domain(award.entry),
            total_points=award.total,
            level=Level.from_domain(level),
            replayed=award.replayed,
        )

    @strawberry.mutation(description="Adds or changes an achievement rule (admin).")
    async def upsert_achievement(
        self, info: Info, input: AchievementInput
    ) -> AchievementDefinition:
        access.check_is_admin(info.context.viewer)
        saved = await gamification.upsert_achievement(info.context.repositories, input.to_domain())
        return AchievementDefinition.from_domain(saved)

    @strawberry.mutation(description="Creates or updates a learner (admin).")
    async def upsert_learner(self, info: Info, input: LearnerInput) -> Learner:
        access.check_is_admin(info.context.viewer)
        saved = await learners.upsert_learner(info.context.repositories, input.to_domain())
        return Learner.from_domain(saved)

    @strawberry.mutation(description="Creates or replaces content items (admin); all or nothing.")
    async def upsert_content(self, info: Info, items: list[ContentItemInput]) -> list[ContentItem]:
        access.check_is_admin(info.context.viewer)
        saved = await catalog.upsert_content(
            info.context.repositories, [item.to_domain() for item in items]
        )
        return [ContentItem.from_domain(item) for item in saved]

    @strawberry.mutation(description="Creates or replaces skills (admin); all or nothing.")
    async def upsert_skills(self, info: Info, skills: list[SkillInput]) -> list[Skill]:
        access.check_is_admin(info.context.viewer)
        saved = await catalog.upsert_skills(
            info.context.repositories, [skill.to_domain() for skill in skills]
        )
        return [Skill.from_domain(skill) for skill in saved]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Achievements the learner unlocks, as they happen. Pass the `id` of the "
        "last unlock you saw as `after` to first receive what you missed."
    )
    async def achievement_unlocked(
        self, info: Info, learner_id: str, after: strawberry.ID | None = None
    ) -> AsyncGenerator[AchievementUnlock, None]:
        try:
            access.check_can_read_learner(info.context.viewer, learner_id)
            after_seq = None if after is None else unlock_seq(after, learner_id)
            services = info.context.services
            unlocks = gamification.follow_unlocks(
                services.repositories, services.feed, learner_id, after=after_seq
            )
            async for unlock in unlocks:
                yield AchievementUnlock.from_domain(unlock)
        except DomainError as error:
            raise as_graphql_error(error) from None

    @strawberry.subscription(
        description="The learner's progress on an item, each time an event changes it."
    )
    async def progress_updated(
        self, info: Info, learner_id: str
    ) -> AsyncGenerator[ContentProgress, None]:
        try:
            access.check_can_read_learner(info.context.viewer, learner_id)
            async for progress in gamification.follow_progress(
                info.context.services.feed, learner_id
            ):
                yield ContentProgress.from_domain(progress)
        except DomainError as error:
            raise as_graphql_error(error) from None
