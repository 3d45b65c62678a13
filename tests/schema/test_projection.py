"""The compiled selection set gives what graphql-core's execution gives, or steps aside."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import strawberry
from graphql import (
    ExecutionResult,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    parse,
)
from graphql.execution import Executor, execute_subscription_event

from domain.progress import ContentProgress, ProgressStatus
from schema.gamification import AchievementUnlock
from schema.live import payload_only
from schema.progress import ContentProgress as ContentProgressType
from schema.projection import Unprojectable, compiled
from tests.factories import NOW, unlock

UNLOCK = AchievementUnlock.from_domain(unlock(seq=7, certification="SAA", recorded_at=None))
PROGRESS = ContentProgressType.from_domain(
    ContentProgress(
        "ada",
        "saa-ec2-1",
        "SAA",
        ProgressStatus.COMPLETED,
        events=3,
        attempts=2,
        best_score=0.875,
        last_score=0.5,
        time_spent_seconds=125.5,
        first_activity_at=NOW - timedelta(days=2),
        last_activity_at=NOW,
        completed_at=NOW,
    )
)


def executor(schema: GraphQLSchema, query: str, **variables: Any) -> Executor[Any]:
    built = Executor.build(schema, parse(query), raw_variable_values=variables)
    assert isinstance(built, Executor), built
    return built


def data_fields(schema: GraphQLSchema, type_name: str) -> list[str]:
    """The type's fields a shared subscription may select: the payload's own data."""
    payload = schema.get_type(type_name)
    assert isinstance(payload, GraphQLObjectType)
    return [
        name
        for name, field in payload.fields.items()
        if is_leaf_type(get_named_type(field.type)) and name not in ("review", "content")
    ]


@pytest.mark.parametrize(
    ("field", "type_name", "payload"),
    [
        ("achievementUnlocked", "AchievementUnlock", UNLOCK),
        ("progressUpdated", "ContentProgress", PROGRESS),
    ],
)
def test_every_field_of_a_payload_comes_out_as_graphql_core_makes_it(
    graphql_schema: strawberry.Schema, field: str, type_name: str, payload: object
) -> None:
    schema = graphql_schema._schema
    fields = data_fields(schema, type_name)
    shapes = [
        " ".join(fields),
        " ".join(f"a{n}: {name}" for n, name in enumerate(fields)) + " __typename",
        f"... on {type_name} {{ {' '.join(fields[:3])} }} ...rest",
        f"{fields[0]} {fields[1]} @include(if: $on) {fields[2]} @skip(if: $on)",
    ]
    fragment = f"fragment rest on {type_name} {{ {' '.join(fields[3:])} }}"
    for shape in shapes:
        query = f"""
        subscription($learnerId: String!, $on: Boolean = true) {{
          {field}(learnerId: $learnerId) {{ {shape} }}
        }}
        {fragment if "...rest" in shape else ""}
        """
        plan = executor(schema, query, learnerId="ada")
        project = compiled(plan)
        assert project is not None, query
        expected = execute_subscription_event(plan.build_per_event_executor(payload))
        assert isinstance(expected, ExecutionResult) and not expected.errors

        assert project(payload) == expected.data


def test_a_value_graphql_core_would_refuse_is_left_to_it(
    graphql_schema: strawberry.Schema,
) -> None:
    query = 'subscription { achievementUnlocked(learnerId: "ada") { key title } }'
    project = compiled(executor(graphql_schema._schema, query))
    assert project is not None
    untitled = AchievementUnlock.from_domain(unlock(title=None))

    with pytest.raises(Unprojectable):
        project(untitled)
    with pytest.raises(Unprojectable):
        project(PROGRESS)  # not an AchievementUnlock at all


def test_fields_that_read_more_than_the_payload_are_not_compiled(
    graphql_schema: strawberry.Schema,
) -> None:
    schema = graphql_schema._schema
    query = 'subscription { progressUpdated(learnerId: "ada") { status content { title } } }'

    assert compiled(executor(schema, query)) is None
    assert not payload_only(schema, parse(query), None)
    review = 'subscription { progressUpdated(learnerId: "ada") { review { dueAt } } }'
    assert not payload_only(schema, parse(review), None)
    plain = 'subscription Live { progressUpdated(learnerId: "ada") { ...p } } '
    plain += "fragment p on ContentProgress { id status __typename }"
    assert payload_only(schema, parse(plain), "Live")


# A schema of its own, for what the subscription payloads do not have (yet)


@strawberry.enum
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Tag:
    name: str


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Box(Named):
    name: str
    count: int | None
    scores: list[float]
    tags: list[Tag]
    grid: list[list[int]] | None
    color: Color
    sibling: Named | None = None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def times(self, n: int) -> int:
        return n * len(self.name)

    @strawberry.field
    async def later(self) -> str:
        return self.name


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def box(self) -> AsyncGenerator[Box, None]:
        yield BOX


BOX = Box(
    name="crate",
    count=None,
    scores=[0.5, 1.0],
    tags=[Tag(name="a"), Tag(name="b")],
    grid=[[1, 2], [3]],
    color=Color.BLUE,
)
BOXES = strawberry.Schema(query=Query, subscription=Subscription)._schema


def test_lists_enums_and_resolvers_of_the_object_alone_come_out_as_graphql_core_makes_them() -> (
    None
):
    query = "subscription { box { name count scores tags { name } grid color shout } }"
    plan = executor(BOXES, query)
    project = compiled(plan)
    expected = execute_subscription_event(plan.build_per_event_executor(BOX))

    assert project is not None
    assert isinstance(expected, ExecutionResult) and not expected.errors
    assert project(BOX) == expected.data


@pytest.mark.parametrize(
    "selection", ["times(n: 2)", "later", "sibling { name }", "... on Box { name } name"]
)
def test_what_needs_more_than_reading_the_object_is_not_compiled(selection: str) -> None:
    project = compiled(executor(BOXES, f"subscription {{ box {{ {selection} }} }}"))

    if selection.startswith("..."):
        assert project is not None  # fragments are collected, like graphql-core does
    else:
        assert project is None


@pytest.mark.parametrize(
    "wrong",
    [
        {"scores": "12"},  # a string is no list
        {"scores": 5},  # nor a number
        {"grid": [[1, "x"]]},  # an item its scalar refuses
        {"color": "green"},  # not one of the enum's values
        {"tags": [None]},  # a null item in a list of non-nulls
    ],
)
def test_a_value_graphql_core_would_report_an_error_for_is_left_to_it(
    wrong: dict[str, Any],
) -> None:
    query = "subscription { box { scores tags { name } grid color } }"
    project = compiled(executor(BOXES, query))
    assert project is not None

    with pytest.raises(Unprojectable):
        project(replace(BOX, **wrong))
