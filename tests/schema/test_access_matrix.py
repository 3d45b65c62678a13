"""Every field of the schema, asked by every kind of viewer: the access rules hold everywhere.

The walk is generated from the schema itself. Each field with a resolver must have a rule in
`RULES` (a new field without one fails `test_every_resolved_field_has_an_access_rule`); then
every field reachable from the roots (resolved or plain) is queried by each viewer below and
the outcome compared with the rules on its path: data for those allowed, `FORBIDDEN` (and no
data) for the others, `UNAUTHENTICATED` without a token. Mutations and subscriptions are tried
the same way, their whole payload selected.

The cast: `ada` (a learner, child of `pat`, in `class-a` taught by `ed`), `bob` (another
learner, in `class-b` taught by `eve`), `pam` (a parent of no one here), an admin and a
service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_leaf_type,
)

from domain.access import ANONYMOUS, Role, Viewer
from domain.certifications import Certification, CertificationLevel, ExamDomain, StudyHours
from domain.events import EventType
from domain.groups import GroupChanges
from resolvers import reading
from resolvers.access import Access
from resolvers.groups import add_members, link_guardian, upsert_group
from resolvers.readiness import upsert_certifications
from resolvers.services import Services
from schema.context import new_context
from schema.nodes import to_global_id
from tests.factories import NOW, draft
from tests.schema.conftest import seed_catalog

VIEWERS: dict[str, Viewer] = {
    "anonymous": ANONYMOUS,
    "ada": Viewer("ada", frozenset({Role.LEARNER})),
    "bob": Viewer("bob", frozenset({Role.LEARNER})),
    "pat": Viewer("pat", frozenset({Role.PARENT})),
    "pam": Viewer("pam", frozenset({Role.PARENT})),
    "ed": Viewer("ed", frozenset({Role.EDUCATOR})),
    "eve": Viewer("eve", frozenset({Role.EDUCATOR})),
    "admin": Viewer("root", frozenset({Role.ADMIN})),
    "service": Viewer("ingest", frozenset({Role.SERVICE})),
}
AUTHENTICATED = frozenset(VIEWERS) - {"anonymous"}
READ_ADA = frozenset({"ada", "pat", "ed", "admin", "service"})
RECORD_ADA = frozenset({"ada", "admin", "service"})
AWARD_ADA = frozenset({"ed", "admin"})
COACH_ADA = frozenset({"ada", "ed", "admin"})  # weekly goals
GRANT_ADA = frozenset({"ed", "pat", "admin"})  # streak freezes
PARENTS = frozenset({"pat", "pam"})
ADMINS = frozenset({"admin"})
SEE_CLASS_A = frozenset({"ada", "ed", "admin", "service"})
MEMBERS_OF_CLASS_A = frozenset({"ed", "admin", "service"})
MANAGE_CLASS_A = frozenset({"ed", "admin"})
SYSTEM = frozenset({"admin", "service"})


@dataclass(frozen=True)
class Rule:
    """Who may see a field (None: whoever may see its parent), and the arguments to try."""

    allowed: frozenset[str] | None = None
    args: str = ""


INHERIT = Rule()
CATALOG = Rule(AUTHENTICATED)

# Fields with a resolver, and root fields: each says who may use it. Fields without a resolver
# (plain values of an object already allowed) inherit their parent's rule.
RULES: dict[str, Rule] = {
    "Query.viewer": Rule(AUTHENTICATED),
    "Query.learner": Rule(READ_ADA, '(id: "ada")'),
    "Query.learners": Rule(READ_ADA, '(ids: ["ada"])'),
    "Query.group": Rule(SEE_CLASS_A, '(id: "class-a")'),
    "Query.groups": Rule(AUTHENTICATED),  # a list filtered to what the viewer may see
    "Query.achievementDefinitions": CATALOG,
    "Query.contentItem": Rule(AUTHENTICATED, '(id: "saa-ec2-1")'),
    "Query.contentItems": CATALOG,
    "Query.skills": CATALOG,
    "Query.certifications": CATALOG,
    "Dashboard.certificationReadiness": Rule(READ_ADA),
    # Learner fields check the learner themselves (see the bypass test below).
    **{
        f"Learner.{name}": Rule(READ_ADA)
        for name in (
            "analytics",
            "certifications",
            "contentProgress",
            "skills",
            "dailyActivity",
            "streak",
            "level",
            "achievements",
            "pointsHistory",
            "dashboard",
            "guardianIds",
            "groups",
            "dueForReview",
            "nextItems",
            "atRisk",
            "paths",
            "trends",
            "learningPatterns",
            "heatmap",
            "learningCurve",
            "weeklyGoal",
            "goalHistory",
        )
    },
    "Learner.readiness": Rule(READ_ADA, '(certification: "SIM")'),
    "Learner.modules": Rule(READ_ADA, '(certification: "SAA")'),
    "Learner.progressAgainstTarget": Rule(READ_ADA, '(goal: 10, targetDate: "2026-06-01")'),
    "Learner.completionForecast": Rule(READ_ADA, '(certification: "SAA")'),
    "Query.learningPaths": CATALOG,
    "Query.parentDashboard": Rule(PARENTS),  # the viewer's own children
    # A group's board: its learners, its educators, admins and services (the overall board's
    # rule, learners, admins and services, is tried in test_leaderboard_queries.py).
    "Query.leaderboard": Rule(SEE_CLASS_A, '(groupId: "class-a")'),
    "Learner.leaderboardRank": Rule(READ_ADA),
    # The dashboards: a group's for its educators, admins and services; the system's for admins
    # and services. Their parts check again, in their use cases.
    "Query.groupDashboard": Rule(MEMBERS_OF_CLASS_A, '(groupId: "class-a")'),
    "Query.adminDashboard": Rule(SYSTEM),
    "GroupDashboard.overview": INHERIT,
    "GroupDashboard.members": INHERIT,
    "GroupDashboard.atRiskLearners": INHERIT,
    "GroupDashboard.conceptDifficulty": INHERIT,
    "GroupDashboard.interventions": INHERIT,
    "GroupDashboard.leaderboard": INHERIT,  # the group's board: its educators read it
    "AdminDashboard.notificationEngagement": INHERIT,
    "ConceptDifficulty.items": INHERIT,
    "ConceptDifficulty.skills": INHERIT,
    "Group.memberCount": Rule(MEMBERS_OF_CLASS_A),
    "Group.members": Rule(MEMBERS_OF_CLASS_A),
    "Viewer.learner": INHERIT,  # the viewer's own record
    "Viewer.children": INHERIT,  # the viewer's own children
    "Viewer.groups": INHERIT,  # filtered
    # The viewer's own inbox: there is no way to name another's.
    "Viewer.notifications": INHERIT,
    "Viewer.unreadNotificationCount": INHERIT,
    "Viewer.notificationPreferences": INHERIT,
    "ContentProgress.content": CATALOG,
    "ContentProgress.review": INHERIT,
    "SkillMastery.curve": INHERIT,
    "RecordEventResult.progress": INHERIT,  # what the event just recorded
    "RecordEventResult.error": INHERIT,
    "RecordEventResult.newAchievements": INHERIT,
    "RecordEventResult.creditedSeconds": INHERIT,
    "RecordEventResult.guarded": INHERIT,
    "RecordEventResult.pointsEarned": INHERIT,
    # Generic plumbing: a Relay id, a connection's nodes.
    "Node.id": INHERIT,
    "Connection.nodes": INHERIT,
}

# node(id:) per type: a global id to fetch and who may.
NODES: dict[str, tuple[str, frozenset[str]]] = {
    "Learner": ("ada", READ_ADA),
    "ContentItem": ("saa-ec2-1", AUTHENTICATED),
    "Skill": ("ec2", AUTHENTICATED),
    "AchievementUnlock": ("ada|1", READ_ADA),
    "ContentProgress": ("ada|saa-ec2-1", READ_ADA),
    "Group": ("class-a", SEE_CLASS_A),
}


def _event(event_id: str, learner_id: str = "ada") -> str:
    return (
        f'{{learnerId: "{learner_id}", eventId: "{event_id}", type: ANSWERED, '
        'contentId: "saa-ec2-1", occurredAt: "2026-03-10T11:00:00Z", score: 1.0, '
        "correct: true}"
    )


@dataclass(frozen=True)
class Trial:
    """A mutation or subscription to try, and who may."""

    allowed: frozenset[str]
    args: str  # may hold {viewer}: each viewer sends its own idempotency keys
    errors_at: str | None = None  # where refusals show instead of top-level errors


MUTATIONS: dict[str, Trial] = {
    "recordEvent": Trial(RECORD_ADA, "(input: " + _event("m-{viewer}") + ")"),
    "recordEvents": Trial(
        RECORD_ADA, "(inputs: [" + _event("b-{viewer}") + "])", errors_at="results"
    ),
    "awardPoints": Trial(
        AWARD_ADA,
        '(input: {learnerId: "ada", awardId: "a-{viewer}", amount: 5, reason: "helped"})',
    ),
    "upsertAchievement": Trial(
        ADMINS,
        '(input: {key: "k-{viewer}", title: "T", description: "D", badgeIcon: "*", '
        "points: 5, rule: COMPLETIONS, threshold: 100})",
    ),
    "upsertLearner": Trial(ADMINS, '(input: {id: "ada"})'),
    "upsertContent": Trial(
        ADMINS,
        '(items: [{id: "new-{viewer}", title: "New", kind: QUESTION, certification: "SAA"}])',
    ),
    "upsertSkills": Trial(ADMINS, '(skills: [{id: "skill-{viewer}", name: "New"}])'),
    "upsertLearningPaths": Trial(
        ADMINS, '(paths: [{id: "p-{viewer}", name: "P", steps: [{itemId: "saa-ec2-1"}]}])'
    ),
    "upsertCertifications": Trial(
        ADMINS,
        '(certifications: [{id: "C-{viewer}", name: "C", level: ASSOCIATE, passMark: 72, '
        "examItems: 20, examMinutes: 60, studyHours: {least: 10}, "
        'domains: [{id: "d", name: "D", weight: 100, skillIds: ["ec2"]}]}])',
    ),
    "upsertGroup": Trial(ADMINS, '(input: {id: "class-a", name: "Class A"})'),
    "deleteGroup": Trial(ADMINS, '(id: "class-gone-{viewer}")'),
    "addGroupMembers": Trial(MANAGE_CLASS_A, '(groupId: "class-a", learnerIds: ["ada"])'),
    "removeGroupMembers": Trial(MANAGE_CLASS_A, '(groupId: "class-a", learnerIds: ["nobody"])'),
    "linkGuardian": Trial(ADMINS, '(parentId: "pat", learnerId: "ada")'),
    "unlinkGuardian": Trial(ADMINS, '(parentId: "nobody", learnerId: "ada")'),
    "setWeeklyGoal": Trial(COACH_ADA, '(input: {learnerId: "ada", kind: MINUTES, target: 60})'),
    "grantStreakFreezes": Trial(
        GRANT_ADA, '(input: {learnerId: "ada", grantId: "g-{viewer}", reason: "sick day"})'
    ),
    # Each viewer's own notifications only.
    "markNotificationsRead": Trial(AUTHENTICATED, "(all: true)"),
    "setNotificationPreferences": Trial(
        AUTHENTICATED, "(input: [{kind: GOAL_MET, channels: [IN_APP]}])"
    ),
}

SUBSCRIPTIONS: dict[str, Trial] = {
    "achievementUnlocked": Trial(
        READ_ADA, f'(learnerId: "ada", after: "{to_global_id("AchievementUnlock", "ada|1")}")'
    ),
    "progressUpdated": Trial(READ_ADA, '(learnerId: "ada")'),
    "notificationReceived": Trial(AUTHENTICATED, ""),  # the viewer's own
}


# --- the cast and their data ---------------------------------------------------------------


async def cast(services: Services) -> None:
    """ada with two unlocks and progress, bob, their groups and ada's guardian."""
    await seed_catalog(services)
    repos = services.repositories
    await services.recorder.record_many(
        [
            draft(event_id="e1", learner_id="ada", type=EventType.COMPLETED, score=1.0),
            draft(event_id="e2", learner_id="bob"),
        ],
        received_at=NOW,
    )
    access = Access.system(repos)
    for group, educator, member in (("class-a", "ed", "ada"), ("class-b", "eve", "bob")):
        changes = GroupChanges(group, name=group.title(), educator_ids=frozenset({educator}))
        await upsert_group(access, repos, changes, now=NOW)
        await add_members(access, repos, group, [member], now=NOW)
    await link_guardian(access, repos, "pat", "ada", now=NOW)
    simulated = Certification(
        id="SIM",
        name="Simulated",
        level=CertificationLevel.ASSOCIATE,
        domains=(
            ExamDomain("compute", "Compute", 0.6, ("ec2",)),
            ExamDomain("storage", "Storage", 0.4, ("s3",)),
        ),
        pass_mark=0.7,
        exam_items=20,
        exam_minutes=60,
        study_hours=StudyHours(10, 20),
    )
    await upsert_certifications(access, repos, [simulated])
    unlocks = (await repos.unlocks.for_learners(["ada"]))["ada"]
    assert len(unlocks) >= 2, "the walk needs two of ada's unlocks (catch-up from the first)"


async def run(services: Services, schema: strawberry.Schema, query: str, who: str) -> Outcome:
    result = await schema.execute(query, context_value=new_context(services, VIEWERS[who]))
    errors = [error.formatted for error in result.errors or []]
    return Outcome(result.data, errors)


@dataclass
class Outcome:
    data: dict[str, Any] | None
    errors: list[Any] = field(default_factory=list)

    @property
    def codes(self) -> set[str]:
        return {error.get("extensions", {}).get("code", "?") for error in self.errors}


# --- the walk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One field on the way down: `name(args)`, inside `... on fragment` when it needs one."""

    parent: str
    name: str
    args: str = ""
    fragment: str | None = None

    def open(self) -> str:
        inner = f"{self.name}{self.args} {{"
        return f"... on {self.fragment} {{ {inner}" if self.fragment else inner

    def close(self) -> str:
        return "} }" if self.fragment else "}"


@dataclass(frozen=True)
class Path:
    steps: tuple[Step, ...]
    allowed: frozenset[str]


def core(schema: strawberry.Schema) -> GraphQLSchema:
    return schema._schema


def object_fields(type_: GraphQLObjectType) -> Iterator[tuple[str, GraphQLField]]:
    yield from type_.fields.items()


def required_args(definition: GraphQLField) -> list[str]:
    return [
        name
        for name, arg in definition.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
    ]


def rule_for(type_name: str, field_name: str, schema: GraphQLSchema) -> Rule | None:
    """The field's rule: its own, or its interface's (generic connections share one)."""
    coordinate = f"{type_name}.{field_name}"
    if coordinate in RULES:
        return RULES[coordinate]
    if type_name.endswith("Connection") and f"Connection.{field_name}" in RULES:
        return RULES[f"Connection.{field_name}"]
    type_ = schema.get_type(type_name)
    if isinstance(type_, GraphQLObjectType):
        for interface in type_.interfaces:
            if f"{interface.name}.{field_name}" in RULES:
                return RULES[f"{interface.name}.{field_name}"]
    return None


def paths_to_types(schema: GraphQLSchema) -> dict[str, Path]:
    """The shortest way from Query to each object type, and who may walk it."""
    query = schema.query_type
    assert query is not None
    paths: dict[str, Path] = {"Query": Path((), AUTHENTICATED | {"anonymous"})}
    frontier = ["Query"]
    while frontier:
        next_frontier = []
        for type_name in frontier:
            type_ = schema.get_type(type_name)
            assert isinstance(type_, GraphQLObjectType)
            for name, definition in object_fields(type_):
                for step, target, allowed in _ways(schema, type_name, name, definition):
                    if target in paths or not isinstance(
                        schema.get_type(target), GraphQLObjectType
                    ):
                        continue
                    parent = paths[type_name]
                    narrowed = parent.allowed if allowed is None else parent.allowed & allowed
                    paths[target] = Path((*parent.steps, step), narrowed)
                    next_frontier.append(target)
        frontier = next_frontier
    return paths


def _ways(
    schema: GraphQLSchema, type_name: str, name: str, definition: GraphQLField
) -> Iterator[tuple[Step, str, frozenset[str] | None]]:
    target = get_named_type(definition.type)
    if is_leaf_type(target):
        return
    if type_name == "Query" and name == "node":
        for node_type, (local_id, allowed) in NODES.items():
            args = f'(id: "{to_global_id(node_type, local_id)}")'
            yield Step(type_name, name, args, None), node_type, allowed
        return
    rule = rule_for(type_name, name, schema)
    if required_args(definition) and (rule is None or not rule.args):
        return
    if isinstance(target, GraphQLInterfaceType | GraphQLUnionType):
        return
    args = rule.args if rule else ""
    yield Step(type_name, name, args), target.name, rule.allowed if rule else None


def _render(steps: tuple[Step, ...], innermost: str) -> str:
    if not steps:
        return innermost
    step, rest = steps[0], steps[1:]
    inner = _render(rest, innermost)
    if step.name == "node":
        node_type = rest[0].parent if rest else None
        return f"{step.name}{step.args} {{ ... on {node_type or '__NODE__'} {{ {inner} }} }}"
    return f"{step.name}{step.args} {{ {inner} }}"


def field_trials(schema: GraphQLSchema) -> Iterator[tuple[str, str, frozenset[str]]]:
    """(coordinate, query, allowed) for every field of every type reachable from Query."""
    for type_name, path in sorted(paths_to_types(schema).items()):
        type_ = schema.get_type(type_name)
        assert isinstance(type_, GraphQLObjectType)
        for name, definition in object_fields(type_):
            rule = rule_for(type_name, name, schema)
            if type_name == "Query" and name == "node":
                continue  # walked through each of its types
            if required_args(definition) and (rule is None or not rule.args):
                continue
            args = rule.args if rule else ""
            allowed = path.allowed
            if rule is not None and rule.allowed is not None:
                allowed = allowed & rule.allowed
            target = get_named_type(definition.type)
            sub = "" if is_leaf_type(target) else "{ __typename }"
            steps = path.steps
            innermost = f"{name}{args} {sub}"
            if steps and steps[-1].name == "node":
                query = "{ " + _render_node(steps, type_name, innermost) + " }"
            else:
                query = "{ " + _render(steps, innermost) + " }"
            yield f"{type_name}.{name}", query, allowed


def _render_node(steps: tuple[Step, ...], node_type: str, innermost: str) -> str:
    *before, node = steps
    inner = f"{node.name}{node.args} {{ ... on {node_type} {{ {innermost} }} }}"
    return _render(tuple(before), inner)


# --- the tests ------------------------------------------------------------------------------


def resolved_fields(schema: strawberry.Schema) -> set[str]:
    """Coordinates of every field with a resolver of its own, and every root field."""
    found = set()
    for type_def in schema.schema_converter.type_map.values():
        definition: Any = getattr(type_def, "definition", None)
        fields = getattr(definition, "fields", None)
        if definition is None or fields is None or getattr(definition, "is_input", False):
            continue
        for strawberry_field in fields:
            graphql_name = schema.config.name_converter.get_graphql_name(strawberry_field)
            root = definition.name in ("Query", "Mutation", "Subscription")
            if strawberry_field.base_resolver is not None or root:
                found.add(f"{definition.name}.{graphql_name}")
    return found


def test_every_resolved_field_has_an_access_rule(graphql_schema: strawberry.Schema) -> None:
    schema = core(graphql_schema)
    declared = {f"Mutation.{m}" for m in MUTATIONS} | {"Query.node"}
    declared |= {f"Subscription.{s}" for s in SUBSCRIPTIONS}
    missing = sorted(
        coordinate
        for coordinate in resolved_fields(graphql_schema)
        if coordinate not in declared
        and rule_for(coordinate.partition(".")[0], coordinate.partition(".")[2], schema) is None
    )

    assert missing == [], f"fields without an access rule in this test's RULES: {missing}"


def test_every_node_type_has_a_rule(graphql_schema: strawberry.Schema) -> None:
    schema = core(graphql_schema)
    node = schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    implementations = {t.name for t in schema.get_implementations(node).objects}

    assert implementations == set(NODES)


async def test_every_field_answers_only_those_its_rules_allow(
    services: Services, graphql_schema: strawberry.Schema
) -> None:
    await cast(services)
    wrong: list[str] = []
    trials = list(field_trials(core(graphql_schema)))
    assert len(trials) > 150, "the walk should reach every field of the schema"
    for coordinate, query, allowed in trials:
        for who in VIEWERS:
            outcome = await run(services, graphql_schema, query, who)
            problem = judge(outcome, who, allowed)
            if problem:
                wrong.append(f"{coordinate} as {who}: {problem}\n    {query}")

    assert wrong == [], "\n".join(wrong)


def judge(outcome: Outcome, who: str, allowed: frozenset[str]) -> str | None:
    if who == "anonymous":
        if outcome.codes != {"UNAUTHENTICATED"} or outcome.data is not None:
            return f"expected UNAUTHENTICATED and no data, got {outcome.codes} {outcome.data}"
        return None
    if who in allowed:
        if outcome.errors:
            return f"expected data, got errors {outcome.errors}"
        return None
    if outcome.codes != {"FORBIDDEN"}:
        return f"expected FORBIDDEN, got {outcome.codes or 'data'}: {outcome.data}"
    return None


def full_selection(schema: GraphQLSchema, type_: GraphQLOutputType, depth: int = 2) -> str:
    """Every field of the type without required arguments, objects `depth` levels down."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    assert isinstance(named, GraphQLObjectType)
    parts = []
    for name, definition in named.fields.items():
        if required_args(definition):
            continue
        target = get_named_type(definition.type)
        if is_leaf_type(target):
            parts.append(name)
        elif depth > 0 and isinstance(target, GraphQLObjectType):
            parts.append(f"{name} {full_selection(schema, definition.type, depth - 1)}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def test_every_mutation_and_subscription_has_a_trial(graphql_schema: strawberry.Schema) -> None:
    schema = core(graphql_schema)
    assert schema.mutation_type is not None and schema.subscription_type is not None

    assert set(schema.mutation_type.fields) == set(MUTATIONS)
    assert set(schema.subscription_type.fields) == set(SUBSCRIPTIONS)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
async def test_each_mutation_runs_only_for_those_allowed(
    services: Services, graphql_schema: strawberry.Schema, mutation: str
) -> None:
    await cast(services)
    schema = core(graphql_schema)
    assert schema.mutation_type is not None
    trial = MUTATIONS[mutation]
    payload = full_selection(schema, schema.mutation_type.fields[mutation].type)
    wrong = []
    for who in VIEWERS:
        query = f"mutation {{ {mutation}{trial.args.replace('{viewer}', who)} {payload} }}"
        outcome = await run(services, graphql_schema, query, who)
        if trial.errors_at and who in AUTHENTICATED and outcome.data is not None:
            # Refused events fail one by one, inside the payload.
            results = outcome.data[mutation][trial.errors_at]
            codes = {r["error"]["code"] for r in results if r["error"]}
            outcome = Outcome(
                None if codes else outcome.data,
                [] if not codes else [{"extensions": {"code": code}} for code in codes],
            )
        problem = judge(outcome, who, trial.allowed)
        if problem:
            wrong.append(f"{mutation} as {who}: {problem}")

    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("subscription", sorted(SUBSCRIPTIONS))
async def test_each_subscription_is_checked_when_it_starts(
    services: Services, graphql_schema: strawberry.Schema, subscription: str
) -> None:
    await cast(services)
    schema = core(graphql_schema)
    assert schema.subscription_type is not None
    trial = SUBSCRIPTIONS[subscription]
    payload = full_selection(schema, schema.subscription_type.fields[subscription].type)
    query = f"subscription {{ {subscription}{trial.args} {payload} }}"
    wrong = []
    for who, viewer in VIEWERS.items():
        stream = await graphql_schema.subscribe(query, context_value=new_context(services, viewer))
        if isinstance(stream, strawberry.types.ExecutionResult):
            outcome = Outcome(stream.data, [e.formatted for e in stream.errors or []])
        else:
            try:
                first = await asyncio.wait_for(anext(stream), timeout=0.3)
            except TimeoutError:
                outcome = Outcome({subscription: "waiting"})  # subscribed: nothing yet
            else:
                outcome = Outcome(first.data, [e.formatted for e in first.errors or []])
            finally:
                await stream.aclose()
        problem = judge(outcome, who, trial.allowed)
        if problem:
            wrong.append(f"{subscription} as {who}: {problem}")

    assert wrong == [], "\n".join(wrong)


async def test_learner_fields_check_access_themselves_even_when_reached_unchecked(
    services: Services,
    graphql_schema: strawberry.Schema,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth: were a way to a learner ever to skip its check, each of the learner's
    fields would still refuse a viewer who may not read them."""
    await cast(services)

    async def unchecked(access: Access, loaders: Any, learner_id: str) -> Any:
        return await loaders.learner.load(learner_id)

    monkeypatch.setattr(reading, "learner", unchecked)
    learner = core(graphql_schema).get_type("Learner")
    assert isinstance(learner, GraphQLObjectType)
    wrong = []
    for coordinate, rule in RULES.items():
        type_name, _, name = coordinate.partition(".")
        if type_name != "Learner":
            continue
        target = get_named_type(learner.fields[name].type)
        sub = "" if is_leaf_type(target) else "{ __typename }"
        query = f'{{ learner(id: "ada") {{ learnerId {name}{rule.args} {sub} }} }}'
        outcome = await run(services, graphql_schema, query, "bob")
        if "FORBIDDEN" not in outcome.codes:
            wrong.append(f"{coordinate} answered bob: {outcome.data}")

    assert wrong == [], "\n".join(wrong)


def test_lists_are_sized_in_the_walk(graphql_schema: strawberry.Schema) -> None:
    """The walk's own sanity: list and non-null wrappers do not hide fields from it."""
    schema = core(graphql_schema)
    reached = set(paths_to_types(schema))
    learner = schema.get_type("Learner")
    assert isinstance(learner, GraphQLObjectType)
    wrapped = learner.fields["skills"].type
    assert isinstance(wrapped, GraphQLNonNull) and isinstance(wrapped.of_type, GraphQLList)

    assert {"Learner", "Dashboard", "Group", "Viewer", "AchievementUnlock"} <= reached
