"""Query cost: the work an operation asks for is bounded before any resolver runs."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import strawberry
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    get_introspection_query,
    get_named_type,
    is_composite_type,
    parse,
)
from graphql.utilities import coerce_input_value
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import ExecutionResult

from domain.access import Role
from domain.learners import Learner
from resolvers.services import Services
from schema import build_schema
from schema.context import Context, new_context
from schema.cost import (
    CATALOG_ESTIMATE,
    DEFAULT_MAX_QUERY_COST,
    RULES,
    UNSIZED_LIST,
    DayRange,
    First,
    LengthOf,
    Paged,
    PageOf,
    is_list_field,
    operation_cost,
    rule_for,
)
from schema.http import graphql_routes
from tests.factories import ADMIN, NOW, TEST_SECRET, TOKENS, bearer, content_item
from tests.schema.conftest import seed_catalog

ROOT = Path(__file__).resolve().parents[2]
GRAPHQL_RESPONSE = "application/graphql-response+json"
IDS = [f"learner-{n}" for n in range(200)]
TODAY = NOW.date()

# The finding: 30 aliases × 200 learners × a year of days, in under 2 KB of query text.
ATTACK = (
    "query($i:[String!]!,$f:Date,$t:Date){"
    + " ".join(
        f"a{n}:learners(ids:$i){{dailyActivity(from:$f,to:$t){{date events}}}}" for n in range(30)
    )
    + "}"
)
ATTACK_VARIABLES: dict[str, Any] = {"i": IDS, "f": "2025-03-10", "t": "2026-03-10"}
ATTACK_COST = 30 * 200 * (1 + 366)

DASHBOARD = """
query Dashboard($id: String!) {
  learner(id: $id) {
    displayName
    level { name points pointsToNextLevel progressPercent }
    streak { current longest atRisk }
    dashboard {
      generatedAt
      overallAnalytics { completionRate averageScore timeSpentHours totalEvents }
      activitySummary { studyStreakDays totalInteractions weeklyAverageMinutes }
      certificationProgress { certification completionRate }
      performanceTrend { date events timeSpentSeconds averageScore }
      recentAchievements { id title badgeIcon points unlockedAt }
      totalPoints
      recommendations { kind message contentId skillId }
    }
  }
}
"""
# learner 1, level 1, streak 1, dashboard 1 + overall 1 + summary 1 + 50 certifications
# + 30 days + 5 unlocks + 4 recommendations.
DASHBOARD_COST = 3 + 1 + 1 + 1 + 50 + 30 + 5 + 4

Run = Callable[..., Coroutine[Any, Any, ExecutionResult]]


@functools.cache
def graphql_core_schema() -> GraphQLSchema:
    return build_schema()._schema


def cost(query: str, **variables: Any) -> int:
    value = operation_cost(graphql_core_schema(), parse(query), variables=variables, today=TODAY)
    assert value is not None
    return value


@pytest.fixture
def run(services: Services, graphql_schema: strawberry.Schema) -> Run:
    """Runs an operation on the given schema (default: the service's); the whole result."""

    async def execute(
        query: str, schema: strawberry.Schema | None = None, **variables: Any
    ) -> ExecutionResult:
        return await (schema or graphql_schema).execute(
            query, variable_values=variables, context_value=new_context(services, ADMIN)
        )

    return execute


def refusal(result: ExecutionResult) -> dict[str, Any]:
    assert result.data is None
    assert result.errors is not None and len(result.errors) == 1
    extensions = result.errors[0].extensions
    assert extensions is not None and extensions["code"] == "QUERY_TOO_COMPLEX"
    return extensions


@pytest.fixture
def no_reads(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any learner read fails the test: a refused operation must not reach a resolver."""

    async def fail(*args: object, **kwargs: object) -> object:
        raise AssertionError("a resolver ran")

    monkeypatch.setattr(services.repositories.learners, "find_by_ids", fail)


# --- refusal ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_reads")
async def test_the_attack_is_refused_with_its_cost_before_any_resolver_runs(run: Run) -> None:
    assert len(ATTACK.encode()) < 2048

    result = await run(ATTACK, **ATTACK_VARIABLES)

    assert refusal(result) == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": ATTACK_COST,
        "maxCost": DEFAULT_MAX_QUERY_COST,
    }
    assert result.errors is not None
    assert result.errors[0].path is None  # a request error, not a field error
    assert "2,202,000" in result.errors[0].message
    # The guard is real: let through, the same operation reaches the repository at once.
    allowed = await run(ATTACK, build_schema(max_query_cost=ATTACK_COST), **ATTACK_VARIABLES)
    assert allowed.errors is not None
    assert {(e.extensions or {}).get("code") for e in allowed.errors} == {"INTERNAL_SERVER_ERROR"}


@pytest.mark.usefixtures("no_reads")
async def test_a_single_alias_of_the_attack_is_refused_too(run: Run) -> None:
    one = (
        'query($ids: [String!]!) { learners(ids: $ids) { dailyActivity(from: "2025-03-10", '
        'to: "2026-03-10") { date } } }'
    )

    assert refusal(await run(one, ids=IDS))["cost"] == 200 * 367


async def test_a_cost_at_the_maximum_passes_and_one_above_is_refused(run: Run) -> None:
    query = "query($ids: [String!]!) { learners(ids: $ids) { displayName dailyActivity { date } } }"
    at_most = cost(query, ids=IDS[:3])
    assert at_most == 3 * (1 + 30)

    passed = await run(query, build_schema(max_query_cost=at_most), ids=IDS[:3])
    assert passed.errors is None
    assert priced(passed.extensions) == {"cost": {"requested": at_most, "maximum": at_most}}

    refused = await run(query, build_schema(max_query_cost=at_most - 1), ids=IDS[:3])
    assert refusal(refused) == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": at_most,
        "maxCost": at_most - 1,
    }


async def test_a_refused_subscription_never_subscribes(services: Services) -> None:
    schema = build_schema(max_query_cost=1)
    query = 'subscription { progressUpdated(learnerId: "ada") { contentId content { title } } }'

    stream = await schema.subscribe(query, context_value=new_context(services, ADMIN))

    assert not isinstance(stream, ExecutionResult)
    results = [result async for result in stream]
    assert len(results) == 1
    assert refusal(results[0])["cost"] == 2


async def test_the_depth_alias_and_token_limits_still_hold(run: Run) -> None:
    aliases = "{" + " ".join(f'a{n}: learner(id: "x") {{ displayName }}' for n in range(31)) + "}"
    deep = "{" + ' learner(id: "x") {' * 13 + " displayName" + " }" * 13 + " }"
    tokens = "{ learners(ids: [" + ", ".join(['"x"'] * 5000) + "]) { displayName } }"

    for query, message in [
        (aliases, "31 aliases found"),
        (deep, "exceeds maximum operation depth of 12"),
        (tokens, "more than 5000 tokens"),
    ]:
        result = await run(query)
        assert result.errors is not None
        assert any(message in error.message for error in result.errors), result.errors


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async def context_for(connection: Request | WebSocket) -> Context:
        return new_context(services)

    routes = graphql_routes(
        build_schema(), context_getter=context_for, tokens=TOKENS, assets_dir=ROOT / "node_modules"
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    headers = {"Authorization": bearer("test-admin", Role.ADMIN)}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://cairn", headers=headers
    ) as client:
        yield client


@pytest.mark.usefixtures("no_reads")
@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), ("application/json", 200)])
async def test_over_http_a_refusal_is_a_request_error_keeping_its_code(
    http: httpx.AsyncClient, accept: str, status: int
) -> None:
    response = await http.post(
        "/graphql",
        json={"query": ATTACK, "variables": ATTACK_VARIABLES},
        headers={"accept": accept},
    )

    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": ATTACK_COST,
        "maxCost": DEFAULT_MAX_QUERY_COST,
    }
    assert priced(body["extensions"])["cost"] == {
        "requested": ATTACK_COST,
        "maximum": DEFAULT_MAX_QUERY_COST,
    }


async def test_over_http_a_response_reports_its_cost(
    services: Services, http: httpx.AsyncClient
) -> None:
    await seed_catalog(services)
    await services.repositories.learners.create_missing([Learner(id="ada")])
    response = await http.post(
        "/graphql",
        json={"query": DASHBOARD, "variables": {"id": "ada"}},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert priced(body["extensions"]) == {
        "cost": {"requested": DASHBOARD_COST, "maximum": DEFAULT_MAX_QUERY_COST}
    }


async def test_the_service_takes_its_maximum_from_cairn_max_query_cost(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from main import Settings, create_app

    monkeypatch.setenv("CAIRN_MAX_QUERY_COST", "1")
    app = create_app(
        Settings(host="127.0.0.1", jwt_secret=TEST_SECRET), "mongodb://127.0.0.1:9/unused"
    )
    app.state.services = services  # no lifespan: the test's services instead
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.post(
            "/graphql",
            json={"query": '{ learner(id: "a") { level { name } } }'},
            headers={"accept": GRAPHQL_RESPONSE, "Authorization": bearer("a", Role.LEARNER)},
        )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 2,
        "maxCost": 1,
    }


# --- ordinary use -------------------------------------------------------------------------------


def readme_examples() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```graphql\n(.*?)```", readme, flags=re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(readme_examples()) >= 4


@pytest.mark.parametrize("example", readme_examples())
async def test_every_readme_example_passes_and_reports_its_cost(
    services: Services, run: Run, example: str
) -> None:
    await seed_catalog(services, items=[content_item(id="saa-ec2-instance-families")])
    expected = cost(example)
    assert expected <= DEFAULT_MAX_QUERY_COST // 20  # ordinary use is far below the maximum
    if example.lstrip().startswith("subscription"):
        return  # costed above; subscribing would wait for events

    result = await run(example)

    assert result.errors is None
    assert priced(result.extensions) == {
        "cost": {"requested": expected, "maximum": DEFAULT_MAX_QUERY_COST}
    }


async def test_a_dashboard_query_passes_and_reports_its_cost(services: Services, run: Run) -> None:
    await seed_catalog(services)
    await services.repositories.learners.create_missing([Learner(id="ada")])

    result = await run(DASHBOARD, id="ada")

    assert result.errors is None
    assert result.data is not None and result.data["learner"] is not None
    assert priced(result.extensions) == {
        "cost": {"requested": DASHBOARD_COST, "maximum": DEFAULT_MAX_QUERY_COST}
    }


def test_heavy_ordinary_uses_fit_under_the_default_maximum() -> None:
    month_of_a_class = (
        "query($ids: [String!]!) "
        "{ learners(ids: $ids) { displayName dailyActivity { date events } } }"
    )
    sync = """
    mutation($inputs: [RecordEventInput!]!) {
      recordEvents(inputs: $inputs) {
        recorded replayed failed
        results {
          index status pointsEarned
          progress { status bestScore content { title } }
          error { code field message }
          newAchievements { title points }
        }
      }
    }
    """
    event = {"learnerId": "ada", "eventId": "e", "type": "VIEWED", "contentId": "c"}

    assert cost(month_of_a_class, ids=IDS) == 200 * 31
    assert cost(sync, inputs=[event] * 1000) == 1 + 1000 * (1 + 2 + 1 + 1)
    assert max(cost(month_of_a_class, ids=IDS), cost(sync, inputs=[event] * 1000)) < (
        DEFAULT_MAX_QUERY_COST
    )


# --- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("first", [0, 1, 10, 100])
def test_first_multiplies_a_connection(first: int) -> None:
    query = (
        f'{{ learner(id: "a") {{ contentProgress(first: {first}) {{ '
        "edges { node { status content { title } } } pageInfo { hasNextPage } } } }"
    )

    # learner, connection, pageInfo; per item: edge, node, content.
    assert cost(query) == 3 + first * 3


def test_first_defaults_to_the_schema_default_and_is_bounded_by_the_page_limit() -> None:
    def query(arguments: str) -> str:
        return (
            f'{{ learner(id: "a") {{ contentProgress{arguments} {{ nodes {{ status }} }} '
            f"pointsHistory{arguments} {{ amount }} }} }}"
        )

    assert cost(query("")) == cost(query("(first: 20)")) == 2 + 20 + 20
    assert cost(query("(first: 1000)")) == cost(query("(first: 100)"))  # refused over 100
    nullable = '{ learner(id: "a") { contentProgress(first: null) { nodes { status } } } }'
    assert cost(nullable) == 2 + 20  # null: the resolver's default page
    assert cost("{ contentItems { nodes { title } } skills(first: 5) { edges { cursor } } }") == (
        1 + 20 + 1 + 5
    )


def test_the_number_of_ids_multiplies() -> None:
    query = (
        "query($ids: [String!]!) { learners(ids: $ids) { displayName analytics { averageScore } } }"
    )

    assert cost(query, ids=IDS[:1]) == 2
    assert cost(query, ids=IDS[:50]) == 50 * 2
    assert cost(query, ids=IDS) == 200 * 2
    assert cost(query, ids=[*IDS, *IDS]) == 200 * 2  # the resolver refuses more than 200
    assert cost('{ learners(ids: "one") { displayName } }') == 1  # a lone value is a list of one


def test_a_year_of_days_costs_more_than_a_week_by_the_ratio_of_days() -> None:
    def days(arguments: str) -> int:
        query = (
            f'{{ learner(id: "a") {{ dailyActivity{arguments} {{ date byHour {{ events }} }} }} }}'
        )
        return cost(query) - 1  # the learner itself

    year = days('(from: "2025-03-10", to: "2026-03-10")')
    week = days('(from: "2026-03-04", to: "2026-03-10")')

    assert year == 366 * (1 + 24)
    assert week == 7 * (1 + 24)
    assert year * 7 == week * 366
    assert days("") == 30 * 25  # by default the last 30 days
    assert days('(to: "2026-01-01")') == 30 * 25
    assert days('(from: "2026-03-04")') == 8 * 25  # to today, counted a day ahead of UTC
    assert days('(from: "2020-01-01", to: "2026-01-01")') == 366 * 25  # refused over 366 days
    assert days('(from: "2026-03-10", to: "2026-03-01")') == 0  # refused: from after to


def test_variables_are_substituted_with_their_defaults() -> None:
    query = (
        'query($first: Int = 3) { learner(id: "a") '
        "{ contentProgress(first: $first) { nodes { status } } } }"
    )

    assert cost(query) == 2 + 3
    assert cost(query, first=50) == 2 + 50
    assert cost(query, first=None) == 2 + 20  # null: the schema's default
    days = (
        'query($from: Date, $to: Date) { learner(id: "a") '
        "{ dailyActivity(from: $from, to: $to) { date } } }"
    )
    assert cost(days, **{"from": "2025-03-10", "to": "2026-03-10"}) == 1 + 366


def test_skip_and_include_are_applied() -> None:
    query = (
        'query($days: Boolean!) { learner(id: "a") { dailyActivity @include(if: $days) { date } '
        "skills @skip(if: $days) { mastery } } }"
    )

    assert cost(query, days=True) == 1 + 30
    assert cost(query, days=False) == 1 + CATALOG_ESTIMATE


def test_fragments_and_inline_fragments_count() -> None:
    inline = '{ learner(id: "a") { dailyActivity { date } level { name } } }'
    spread = """
    { learner(id: "a") { ...Days ... on Learner { level { name } } } }
    fragment Days on Learner { dailyActivity { ...Day } }
    fragment Day on DailyActivity { date }
    """

    assert cost(spread) == cost(inline) == 1 + 30 + 1


def test_a_fragment_counts_once_however_often_it_is_spread_in_one_place() -> None:
    query = """
    { learner(id: "a") {
        ...Days ...Days ... on Node { ...Days }
        ... @include(if: true) { displayName }
        ... @include(if: false) { skills { mastery } }
    } }
    fragment Days on Learner { dailyActivity { date } }
    """

    assert cost(query) == 1 + 30


def test_a_field_whose_arguments_fail_costs_nothing_for_it_never_runs() -> None:
    # Validation refuses this document; costed anyway, the field would fail before resolving.
    assert cost('{ learner(id: "a") { pointsHistory(first: null) { amount } } }') == 1


def test_an_interface_costs_what_its_most_expensive_type_costs() -> None:
    query = """
    { node(id: "x") {
        id
        ... on Learner { dailyActivity { date } }
        ... on ContentProgress { content { title } }
        ...Item
    } }
    fragment Item on ContentItem { title }
    """

    assert cost(query) == 1 + 30


def test_fields_merged_by_execution_are_counted_once() -> None:
    merged = (
        '{ learner(id: "a") { dailyActivity { date } } '
        'learner(id: "a") { dailyActivity { events } } }'
    )
    aliased = (
        '{ a: learner(id: "a") { dailyActivity { date } } '
        'b: learner(id: "a") { dailyActivity { events } } }'
    )

    assert cost(merged) == 1 + 30
    assert cost(aliased) == 2 * (1 + 30)


def test_fragments_spread_under_aliases_count_for_each_alias() -> None:
    query = (
        '{ learner(id: "a") { ' + " ".join(f"d{n}: dashboard {{ ...D }}" for n in range(5)) + " } }"
    )
    fragments = (
        "fragment D on Dashboard { "
        + " ".join(f"s{n}: activitySummary {{ ...S }}" for n in range(5))
        + " }\nfragment S on ActivitySummary { "
        + " ".join(f"t{n}: streak {{ current }}" for n in range(5))
        + " }"
    )

    assert cost(query + "\n" + fragments) == 1 + 5 * (1 + 5 * (1 + 5 * 1))


def test_the_operation_named_is_the_one_costed() -> None:
    document = (
        'query Cheap { learner(id: "a") { displayName } } '
        'query Dear { learner(id: "a") { dailyActivity { date } } }'
    )
    schema = graphql_core_schema()

    assert operation_cost(schema, parse(document), operation_name="Cheap", today=TODAY) == 1
    assert operation_cost(schema, parse(document), operation_name="Dear", today=TODAY) == 31
    assert operation_cost(schema, parse(document), operation_name="None", today=TODAY) is None
    assert operation_cost(schema, parse('{ learner(id: "a") { displayName } }')) == 1


async def test_introspection_is_free(run: Run) -> None:
    schema = build_schema(max_query_cost=0)

    docs = await run(get_introspection_query(descriptions=True), schema)
    typename = await run('{ __typename __type(name: "Learner") { fields { name } } }', schema)

    assert docs.errors is None and typename.errors is None
    assert (
        priced(docs.extensions)
        == priced(typename.extensions)
        == {"cost": {"requested": 0, "maximum": 0}}
    )


async def test_variables_that_do_not_fit_are_refused_by_execution_unrun(run: Run) -> None:
    result = await run(
        'query($first: Int) { learner(id: "a") '
        "{ contentProgress(first: $first) { nodes { status } } } }",
        first="many",
    )

    assert result.data is None
    assert result.errors is not None
    assert result.extensions == {}  # nothing to cost


def test_mutations_are_costed_by_their_inputs() -> None:
    upsert = "mutation($items: [ContentItemInput!]!) { upsertContent(items: $items) { title } }"
    item = {"id": "i", "title": "T", "kind": "LESSON"}

    assert cost(upsert, items=[item] * 7) == 7
    assert cost(upsert, items=[item] * 10_000) == 500  # refused over 500
    assert cost('mutation { upsertLearner(input: {id: "a"}) { dailyActivity { date } } }') == 31


def test_input_objects_are_sized_by_their_number_not_coerced_a_second_time() -> None:
    sync = (
        "mutation($inputs: [RecordEventInput!]!) "
        "{ recordEvents(inputs: $inputs) { results { status } } }"
    )
    event = {"learnerId": "ada", "eventId": "e", "type": "VIEWED", "contentId": "c"}

    # Their fields are execution's to check (it refuses them before any resolver runs): the
    # cost needs only how many there are.
    assert cost(sync, inputs=[{"learnerId": 5}] * 3) == cost(sync, inputs=[event] * 3)
    assert cost(sync, inputs=[{"learnerId": 5}] * 3) < cost(sync, inputs=[event] * 4)


async def test_a_batchs_inputs_are_coerced_once_per_request(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    coerced: list[str] = []
    original = coerce_input_value

    def counting(value: Any, type_: Any, *args: Any, **kwargs: Any) -> Any:
        coerced.append(str(type_))
        return original(value, type_, *args, **kwargs)

    monkeypatch.setattr("graphql.execution.values.coerce_input_value", counting)
    event = {"learnerId": "ada", "eventId": "e", "type": "VIEWED", "contentId": "c"}

    result = await run(
        "mutation($inputs: [RecordEventInput!]!, $more: Boolean!) { recordEvents(inputs: $inputs) "
        "{ failed results @include(if: $more) { status } } }",
        inputs=[event] * 3,
        more=True,
    )

    assert result.errors is None
    # Execution coerces each variable once; the cost analysis only the small ones.
    assert coerced.count("[RecordEventInput!]!") == 1
    assert coerced.count("Boolean!") == 2


def test_every_list_field_of_the_schema_has_a_rule_or_the_default() -> None:
    schema = graphql_core_schema()
    list_fields = [
        (type_.name, name, field)
        for type_ in schema.type_map.values()
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__")
        for name, field in type_.fields.items()
        if is_list_field(field) and is_composite_type(get_named_type(field.type))
    ]
    assert len(list_fields) > 20

    for type_name, name, field in list_fields:
        explicit = RULES.get((type_name, name))
        assert rule_for(type_name, name, field) is (explicit or UNSIZED_LIST)
        sized_by = {"first", "ids", "inputs", "items", "skills", "from", "to"} & set(field.args)
        if sized_by or type_name.endswith(("Connection", "Payload")):
            # Sized by an argument or by the field above: the default would ignore that.
            assert explicit is not None, f"{type_name}.{name} needs a rule in schema.cost.RULES"


def test_every_field_sized_by_an_argument_or_a_page_has_a_rule() -> None:
    schema = graphql_core_schema()
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            if "first" in field.args:
                assert isinstance(RULES.get((type_.name, name)), First | Paged), (type_.name, name)
            named = get_named_type(field.type)
            if named.name.endswith("Connection"):
                assert isinstance(RULES.get((type_.name, name)), Paged), (type_.name, name)
                for child in ("edges", "nodes"):
                    assert isinstance(RULES.get((named.name, child)), PageOf), (named.name, child)


def test_every_rule_names_a_field_of_the_schema() -> None:
    schema = graphql_core_schema()
    for (type_name, name), rule in RULES.items():
        type_ = schema.type_map.get(type_name)
        assert isinstance(type_, GraphQLObjectType), type_name
        field = type_.fields.get(name)
        assert field is not None, f"{type_name}.{name} is not in the schema"
        assert is_list_field(field) == (not isinstance(rule, Paged)), f"{type_name}.{name}"
        if isinstance(rule, LengthOf):
            assert rule.argument in field.args
        if isinstance(rule, DayRange):
            assert "from" in field.args  # `to`, when there is none, is today


def test_the_readme_documents_the_default_maximum() -> None:
    readme = (ROOT / "README.md").read_text()

    assert f"| `CAIRN_MAX_QUERY_COST` | `{DEFAULT_MAX_QUERY_COST}` |" in readme


async def test_today_is_the_service_clocks(run: Run) -> None:
    # The service clock says 2026-03-10: up to "today" is 8 days, counting a day ahead of UTC.
    result = await run('{ learner(id: "a") { dailyActivity(from: "2026-03-04") { date } } }')

    assert priced(result.extensions) == {
        "cost": {"requested": 1 + 8, "maximum": DEFAULT_MAX_QUERY_COST}
    }


async def test_without_a_clock_in_the_context_today_is_the_system_clocks(
    graphql_schema: strawberry.Schema,
) -> None:
    since = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    query = f'{{ learner(id: "a") {{ dailyActivity(from: "{since}") {{ date }} }} }}'

    result = await graphql_schema.execute(query, context_value=SimpleNamespace(viewer=ADMIN))

    assert priced(result.extensions) == {
        "cost": {"requested": 1 + 4, "maximum": DEFAULT_MAX_QUERY_COST}
    }


def priced(extensions: Any) -> dict[str, Any]:
    """The estimate in a response's extensions, without what the rate limiter adds."""
    cost = extensions["cost"]
    return {"cost": {key: cost[key] for key in ("requested", "maximum")}}
