"""Query cost: an operation that would make the service do too much work is refused unrun.

Depth, alias and token limits bound the size of a document, not the work it asks for: 30 aliases
of `learners(ids: [200 ids]) { dailyActivity(from:, to:) }` over a year fit in 2 KB and ask for
2.2 million day entries. So after validation, before any resolver runs, `QueryCost` walks the
operation (the one `operationName` picks, fragments and inline fragments expanded, `@skip` and
`@include` applied, variables substituted and argument defaults read from the schema, fields
with the same response key merged as execution merges them) and estimates how many objects it
makes the service produce:

- a field returning an object costs 1 for each object it yields, plus its children's cost for
  each; a scalar or enum field costs nothing (`LEAF_COST`): its parent paid for the object;
- a list field yields as many objects as its rule in `RULES` says: `first` (the schema's default
  when not given), the length of `ids`, the days of a `from`/`to` range, the page size of the
  connection it belongs to, or a fixed estimate for lists the client cannot size. Sizes beyond
  what a resolver accepts (more than 100 a page, 200 ids, 366 days...) are counted at that bound:
  the resolver refuses them before doing any work;
- a field returning an interface costs what its most expensive possible type costs;
- introspection (`__schema`, `__type`, `__typename`) is free, so GraphiQL's docs always load.

A list field without a rule counts as `CATALOG_ESTIMATE` items. An operation costing more than
`max_cost` gets one error, `QUERY_TOO_COMPLEX` with its `cost` and `maxCost`, and no data. Every
other response reports its cost in `extensions.cost` (`requested`, `maximum`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeNode,
    VariableDefinitionNode,
    get_argument_values,
    get_directive_values,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    get_variable_values,
    is_abstract_type,
    is_input_object_type,
    is_leaf_type,
    is_list_type,
    type_from_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import VariableValues
from strawberry.extensions import SchemaExtension

from domain.catalog import Difficulty
from domain.dashboards import RETENTION_WEEKS
from domain.events import MAX_BATCH
from domain.leaderboards import DEFAULT_SIZE, MAX_AROUND, MAX_SIZE
from domain.notifications import NotificationKind
from domain.risk import RiskKind
from resolvers.analytics import CURVE_DAYS, MAX_SERIES_DAYS, TREND_DEFAULT_DAYS
from resolvers.catalog import MAX_UPSERT
from resolvers.dashboards import MAX_LIST
from resolvers.engagement import MAX_HISTORY_WEEKS
from resolvers.gamification import RECENT_ACHIEVEMENTS, TREND_DAYS
from resolvers.paths import MAX_PATHS
from resolvers.readiness import ACTIONS_PER_DOMAIN, MAX_CERTIFICATIONS, WEAK_DOMAINS_NAMED
from resolvers.reading import (
    DEFAULT_ACTIVITY_DAYS,
    DEFAULT_PAGE,
    MAX_ACTIVITY_DAYS,
    MAX_LEARNERS,
    MAX_PAGE,
)
from schema.ratelimit import RATE_LIMITED, Charge, RateLimiter

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
# Well above ordinary use (README, "Query cost"): the README's learner and dashboard examples
# cost 214 and 244, 200 learners with 30 days each 6,200, 1,000 events with full results 5,001.
# The attack above did 2.2 million units in 73 s: 10,000 is a fraction of a second of work.
DEFAULT_MAX_QUERY_COST = 10_000
LEAF_COST = 0
# Lists bounded by the catalog or the achievement rules, not by an argument: skills, achievements,
# certifications, categories. An estimate; the demo catalog has fewer of each.
CATALOG_ESTIMATE = 50
CERTIFICATIONS_ESTIMATE = 10
STEPS_ESTIMATE = 50
DOMAINS_ESTIMATE = 6


@dataclass(frozen=True, slots=True)
class Sizing:
    """What a rule sees: the field, its coerced arguments, what its parent hands down, today."""

    field: GraphQLField
    args: Mapping[str, Any]
    page: int | None
    today: date


class Rule:
    """How many objects a field yields (1 unless it is a list), and the page size it hands to
    the `edges`/`nodes` below it (None: none)."""

    def size(self, at: Sizing) -> int:
        return 1

    def page(self, at: Sizing) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class Estimate(Rule):
    """A fixed number of items: for lists no argument sizes."""

    items: int

    def size(self, at: Sizing) -> int:
        return self.items


@dataclass(frozen=True, slots=True)
class First(Rule):
    """`first` items, the schema's default when not given or null (else `default`); at most
    `maximum`."""

    maximum: int = MAX_PAGE
    default: int = DEFAULT_PAGE

    def size(self, at: Sizing) -> int:
        value = at.args.get("first")
        if value is None:
            default = at.field.args["first"].default_value
            value = default if isinstance(default, int) else self.default
        return _bounded(value, self.maximum)


@dataclass(frozen=True, slots=True)
class LengthOf(Rule):
    """One item per entry of a list argument; at most `maximum`."""

    argument: str
    maximum: int

    def size(self, at: Sizing) -> int:
        value = at.args.get(self.argument)
        return _bounded(len(value) if isinstance(value, list) else 1, self.maximum)


@dataclass(frozen=True, slots=True)
class DayRange(Rule):
    """One item per day from `from` to `to`: by default the last 30 days up to today."""

    def size(self, at: Sizing) -> int:
        first, last = at.args.get("from"), at.args.get("to")
        if first is None:
            return DEFAULT_ACTIVITY_DAYS
        if last is None:
            # The learner's today: at most a day ahead of UTC's, whatever their time zone.
            last = at.today + timedelta(days=1)
        return _bounded((last - first).days + 1, MAX_ACTIVITY_DAYS)


@dataclass(frozen=True, slots=True)
class PeriodRange(Rule):
    """One item per day, ISO week or month from `from` to `to` (default: the last 12 weeks)."""

    def size(self, at: Sizing) -> int:
        first, last = at.args.get("from"), at.args.get("to")
        last = last or at.today + timedelta(days=1)
        first = first or last - timedelta(days=TREND_DEFAULT_DAYS - 1)
        days = _bounded((last - first).days + 1, MAX_SERIES_DAYS)
        period = str(at.args.get("period", "week")).lower()
        per_item = {"day": 1, "week": 7, "month": 28}.get(period.rsplit(".", 1)[-1], 1)
        return max(1, -(-days // per_item)) + 1  # a partial period at each end


@dataclass(frozen=True, slots=True)
class Count(Rule):
    """As many items as an integer argument says (its default when not given); at most
    `maximum`. Used through `Paged` when the items are a field below: `curve(last:)`."""

    argument: str
    maximum: int

    def size(self, at: Sizing) -> int:
        value = at.args.get(self.argument)
        if value is None:
            default = at.field.args[self.argument].default_value
            value = default if isinstance(default, int) else self.maximum
        return _bounded(value, self.maximum)


@dataclass(frozen=True, slots=True)
class Days(Rule):
    """One item per day of the `days` argument (its default when not given)."""

    def size(self, at: Sizing) -> int:
        value = at.args.get("days")
        if value is None:
            default = at.field.args["days"].default_value
            value = default if isinstance(default, int) else DEFAULT_ACTIVITY_DAYS
        return _bounded(value, MAX_ACTIVITY_DAYS)


@dataclass(frozen=True, slots=True)
class PageOf(Rule):
    """As many items as the enclosing field's page (a connection's `edges` and `nodes`)."""

    def size(self, at: Sizing) -> int:
        return CATALOG_ESTIMATE if at.page is None else at.page


@dataclass(frozen=True, slots=True)
class Paged(Rule):
    """One object (a connection or payload) whose `PageOf` fields hold `items` items."""

    items: Rule

    def page(self, at: Sizing) -> int | None:
        return self.items.size(at)


ONE: Final = Rule()
UNSIZED_LIST: Final = Estimate(CATALOG_ESTIMATE)

# Every list field of the schema, and every field that sizes the page below it, by type and field
# name. A list field missing here counts as UNSIZED_LIST (tests/schema/test_cost.py checks that
# every list field sized by an argument or by its connection is here).
RULES: Final[Mapping[tuple[str, str], Rule]] = {
    # Sized by their arguments.
    ("Query", "learners"): LengthOf("ids", MAX_LEARNERS),
    ("Query", "contentItems"): Paged(First()),
    ("Query", "skills"): Paged(First()),
    ("Query", "groups"): Paged(First()),
    ("Viewer", "groups"): Paged(First()),
    ("Viewer", "notifications"): Paged(First()),
    ("NotificationPage", "nodes"): PageOf(),
    ("Viewer", "notificationPreferences"): Estimate(len(NotificationKind)),
    ("Mutation", "setNotificationPreferences"): LengthOf("input", len(NotificationKind)),
    ("Learner", "goalHistory"): Count("weeks", MAX_HISTORY_WEEKS),
    ("Streak", "frozenDates"): Estimate(10),
    ("Group", "members"): Paged(First()),
    ("Learner", "contentProgress"): Paged(First()),
    ("Learner", "pointsHistory"): First(),
    ("Learner", "dueForReview"): First(),
    ("SkillMastery", "curve"): Paged(Count("last", 1000)),
    ("SkillCurve", "points"): PageOf(),
    ("Learner", "nextItems"): First(),
    ("Learner", "dailyActivity"): DayRange(),
    ("Learner", "trends"): PeriodRange(),
    ("Learner", "heatmap"): Days(),
    ("Learner", "progressAgainstTarget"): DayRange(),
    ("Mutation", "recordEvents"): Paged(LengthOf("inputs", MAX_BATCH)),
    ("Mutation", "upsertContent"): LengthOf("items", MAX_UPSERT),
    ("Mutation", "upsertSkills"): LengthOf("skills", MAX_UPSERT),
    # The top list (`first`: CAIRN_LEADERBOARD_SIZE when not given, counted at its default),
    # and the viewer's row with up to `around` rows either side.
    ("Query", "leaderboard"): Paged(First(maximum=MAX_SIZE, default=DEFAULT_SIZE)),
    ("Leaderboard", "top"): PageOf(),
    ("GroupDashboard", "leaderboard"): Paged(First(maximum=MAX_SIZE, default=DEFAULT_SIZE)),
    ("AdminDashboard", "notificationEngagement"): Estimate(len(NotificationKind)),
    ("Leaderboard", "neighbours"): Estimate(2 * MAX_AROUND + 1),
    # A page of the field above.
    ("ContentItemConnection", "edges"): PageOf(),
    ("ContentItemConnection", "nodes"): PageOf(),
    ("SkillConnection", "edges"): PageOf(),
    ("SkillConnection", "nodes"): PageOf(),
    ("ContentProgressConnection", "edges"): PageOf(),
    ("ContentProgressConnection", "nodes"): PageOf(),
    ("GroupConnection", "edges"): PageOf(),
    ("GroupConnection", "nodes"): PageOf(),
    ("LearnerConnection", "edges"): PageOf(),
    ("LearnerConnection", "nodes"): PageOf(),
    ("RecordEventsPayload", "results"): PageOf(),
    # Bounded by the code.
    ("Dashboard", "performanceTrend"): Estimate(TREND_DAYS),
    ("Dashboard", "recentAchievements"): Estimate(RECENT_ACHIEVEMENTS),
    # Keep or start the streak, the weakest skill, two open items (domain.dashboard.recommend).
    ("Dashboard", "recommendations"): Estimate(4),
    ("RiskAssessment", "reasons"): Estimate(len(RiskKind)),
    ("LearningPatterns", "hours"): Estimate(24),
    ("LearningPatterns", "weekdays"): Estimate(7),
    ("LearningPatterns", "peakHours"): Estimate(3),
    ("LearningPatterns", "peakWeekdays"): Estimate(2),
    ("LearningCurve", "points"): Estimate(CURVE_DAYS),
    ("LearningCurve", "smoothed"): Estimate(CURVE_DAYS),
    ("LearningCurve", "plateaus"): Estimate(10),
    ("LearningCurve", "breakthroughs"): Estimate(10),
    ("TrendPoint", "byCategory"): UNSIZED_LIST,
    ("TrendPoint", "byCertification"): UNSIZED_LIST,
    ("TrendPoint", "byDifficulty"): Estimate(len(Difficulty) + 1),
    # A catalog holds a few certifications, each a handful of exam domains (resolvers.readiness
    # names three items for each of at most three weak domains, plus booking the exam).
    ("Query", "certifications"): Estimate(CERTIFICATIONS_ESTIMATE),
    # Paths hold up to 500 steps; a catalog, a few paths; a certification, a dozen modules.
    ("Query", "learningPaths"): Estimate(CERTIFICATIONS_ESTIMATE),
    ("Learner", "paths"): Estimate(CERTIFICATIONS_ESTIMATE),
    ("Learner", "modules"): Estimate(12),
    ("LearningPath", "steps"): Estimate(STEPS_ESTIMATE),
    ("PathProgress", "steps"): Estimate(STEPS_ESTIMATE),
    ("Mutation", "upsertLearningPaths"): LengthOf("paths", MAX_PATHS),
    ("Dashboard", "certificationReadiness"): Estimate(CERTIFICATIONS_ESTIMATE),
    ("Certification", "domains"): Estimate(DOMAINS_ESTIMATE),
    ("Readiness", "domains"): Estimate(DOMAINS_ESTIMATE),
    ("Readiness", "weakAreas"): Estimate(DOMAINS_ESTIMATE),
    ("Readiness", "strongAreas"): Estimate(DOMAINS_ESTIMATE),
    ("Readiness", "recommendedActions"): Estimate(WEAK_DOMAINS_NAMED * ACTIONS_PER_DOMAIN + 1),
    ("Mutation", "upsertCertifications"): LengthOf("certifications", MAX_CERTIFICATIONS),
    ("DailyActivity", "byHour"): Estimate(24),
    ("DailyActivity", "byDifficulty"): Estimate(len(Difficulty) + 1),  # + uncategorised
    # An achievement unlocks once per learner: a batch's events unlock a few in all.
    ("RecordEventResult", "newAchievements"): Estimate(1),
    # Bounded by the catalog or the achievement rules.
    ("Query", "achievementDefinitions"): UNSIZED_LIST,
    ("Learner", "certifications"): UNSIZED_LIST,
    ("Learner", "skills"): UNSIZED_LIST,
    ("Learner", "achievements"): UNSIZED_LIST,
    ("Dashboard", "certificationProgress"): UNSIZED_LIST,
    ("DailyActivity", "byCategory"): UNSIZED_LIST,
    ("DailyActivity", "byCertification"): UNSIZED_LIST,
    # The dashboards: a page of members from the root's `first`, short lists by their own.
    ("Query", "groupDashboard"): Paged(First()),
    ("GroupDashboard", "members"): Paged(PageOf()),
    ("GroupMemberConnection", "edges"): PageOf(),
    ("GroupMemberConnection", "nodes"): PageOf(),
    ("GroupMember", "riskReasons"): Estimate(len(RiskKind)),
    ("GroupDashboard", "atRiskLearners"): First(maximum=MAX_LIST),
    ("AtRiskLearner", "reasons"): Estimate(len(RiskKind)),
    ("ConceptDifficulty", "items"): First(maximum=MAX_LIST),
    ("ConceptDifficulty", "skills"): First(maximum=MAX_LIST),
    ("GroupDashboard", "interventions"): First(maximum=MAX_LIST),
    ("Query", "adminDashboard"): Paged(Days()),
    ("AdminDashboard", "dailyActiveLearners"): PageOf(),
    ("AdminDashboard", "weeklyRetention"): Estimate(RETENTION_WEEKS),
    ("AdminDashboard", "badgeAwards"): UNSIZED_LIST,
}


def is_list_field(field: GraphQLField) -> bool:
    return is_list_type(get_nullable_type(field.type))


def rule_for(type_name: str, field_name: str, field: GraphQLField) -> Rule:
    """The field's rule in `RULES`, else the default: UNSIZED_LIST for a list, else ONE."""
    rule = RULES.get((type_name, field_name))
    if rule is not None:
        return rule
    return UNSIZED_LIST if is_list_field(field) else ONE


def _bounded(value: int, maximum: int) -> int:
    return min(max(value, 0), maximum)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> int | None:
    """The cost of the operation `operation_name` picks in a validated document.

    None when there is nothing to cost: no such operation, or variables that do not fit their
    types (execution then refuses them before any resolver runs).
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    root = schema.get_root_type(operation.operation)
    coerced = _cost_variables(schema, operation.variable_definitions or (), variables or {})
    if root is None or coerced is None:
        return None
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments, coerced, today or datetime.now(UTC).date())
    return walk.object_cost(root, [operation.selection_set], None)


def _cost_variables(
    schema: GraphQLSchema,
    definitions: Sequence[VariableDefinitionNode],
    raw: Mapping[str, Any],
) -> VariableValues | None:
    """The variables as the rules see them: those of scalar and enum types (and lists of them)
    coerced, as execution will; those holding input objects as they came, for a rule sizes
    them by their number alone (a batch of a thousand events is coerced once, by execution,
    which refuses it if it does not fit before any resolver runs). None when a coerced one
    does not fit."""
    heavy = {
        definition.variable.name.value
        for definition in definitions
        if _holds_input_objects(schema, definition.type)
    }
    light = [d for d in definitions if d.variable.name.value not in heavy]
    coerced = get_variable_values(schema, light, {k: v for k, v in raw.items() if k not in heavy})
    if isinstance(coerced, list):
        return None
    as_given = {name: raw[name] for name in heavy if name in raw}
    return VariableValues(coerced.sources, {**coerced.coerced, **as_given})


def _holds_input_objects(schema: GraphQLSchema, type_node: TypeNode) -> bool:
    type_ = type_from_ast(schema, type_node)
    return type_ is not None and is_input_object_type(get_named_type(type_))


FieldGroups = dict[str, list[FieldNode]]


class _Walk:
    """One operation's walk, memoised per (type, selection sets, page): a fragment spread many
    times is costed once, so the walk stays linear in the document however large the cost."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
        today: date,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.today = today
        self.memo: dict[tuple[str, tuple[int, ...], int | None], int] = {}

    def object_cost(
        self,
        type_: GraphQLNamedType,
        selection_sets: Sequence[SelectionSetNode],
        page: int | None,
    ) -> int:
        key = (type_.name, tuple(id(selection_set) for selection_set in selection_sets), page)
        cost = self.memo.get(key)
        if cost is None:
            runtime_types: Sequence[GraphQLObjectType]
            if is_abstract_type(type_):
                runtime_types = self.schema.get_possible_types(type_)
            else:
                assert isinstance(type_, GraphQLObjectType)
                runtime_types = [type_]
            cost = max(
                (self._fields_cost(runtime, selection_sets, page) for runtime in runtime_types),
                default=0,
            )
            self.memo[key] = cost
        return cost

    def _fields_cost(
        self,
        runtime: GraphQLObjectType,
        selection_sets: Sequence[SelectionSetNode],
        page: int | None,
    ) -> int:
        groups: FieldGroups = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(runtime, selection_set, groups, visited)
        return sum(self._field_cost(runtime, nodes, page) for nodes in groups.values())

    def _field_cost(
        self, parent: GraphQLObjectType, nodes: list[FieldNode], page: int | None
    ) -> int:
        node = nodes[0]
        name = node.name.value
        field = parent.fields.get(name)
        if name.startswith("__") or field is None:
            return 0  # introspection
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return LEAF_COST
        try:
            args = get_argument_values(field, node, self.variables)
        except GraphQLError:
            return 0  # execution fails the field before its resolver runs
        at = Sizing(field=field, args=args, page=page, today=self.today)
        rule = rule_for(parent.name, name, field)
        size = rule.size(at)
        if size == 0:
            return 0
        selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        return size * (1 + self.object_cost(named, selection_sets, rule.page(at)))

    def _collect(
        self,
        runtime: GraphQLObjectType,
        selection_set: SelectionSetNode,
        groups: FieldGroups,
        visited: set[str],
    ) -> None:
        """The fields a selection set runs on an object of type `runtime`, by response key."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if self._included(selection):
                    key = (selection.alias or selection.name).value
                    groups.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._included(selection) and self._applies(selection.type_condition, runtime):
                    self._collect(runtime, selection.selection_set, groups, visited)
            else:
                assert isinstance(selection, FragmentSpreadNode)
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None or not self._included(selection):
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition, runtime):
                    self._collect(runtime, fragment.selection_set, groups, visited)

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip["if"]:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return include is None or bool(include["if"])

    def _applies(self, condition: NamedTypeNode | None, runtime: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        type_ = self.schema.get_type(condition.name.value)
        if type_ is runtime:
            return True
        return is_abstract_type(type_) and self.schema.is_sub_type(type_, runtime)


def too_complex(
    cost: int, max_cost: int, operation: OperationDefinitionNode | None
) -> GraphQLError:
    return GraphQLError(
        f"The operation's cost, {cost:,}, is over the maximum of {max_cost:,}: ask for fewer "
        "items (smaller `first`, fewer `ids`, shorter date ranges) or split the operation.",
        nodes=operation,
        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": max_cost},
    )


class QueryCost(SchemaExtension):
    """Costs each operation once it is valid; refuses it, unrun, when over `max_cost`, or when
    the client's rate-limit bucket (`schema.ratelimit`) cannot pay for it."""

    def __init__(
        self, *, max_cost: int = DEFAULT_MAX_QUERY_COST, limiter: RateLimiter | None = None
    ) -> None:
        super().__init__()
        self.max_cost = max_cost
        self.limiter = limiter
        self.cost: int | None = None
        self.actual: int | None = None
        self.remaining: int | None = None

    def on_execute(self) -> Iterator[None]:
        # Runs only once the document is valid, before graphql-core executes anything.
        context = self.execution_context
        assert context.graphql_document is not None
        if context.result is not None:  # refused already (not authenticated): costs nothing
            yield
            return
        self.cost = operation_cost(
            context.schema._schema,
            context.graphql_document,
            operation_name=context.operation_name,
            variables=context.variables,
            today=_today(context.context),
        )
        operation = get_operation_ast(context.graphql_document, context.operation_name)
        error = None
        if self.cost is not None and self.cost > self.max_cost:
            error = too_complex(self.cost, self.max_cost, operation)
        elif self.cost is not None and self.limiter is not None:
            charge = self.limiter.charge(client_of(context.context), self.cost)
            self.remaining = charge.remaining
            if not charge.allowed:
                error = rate_limited(self.cost, charge, operation)
        if error is not None:
            if operation is not None and operation.operation is OperationType.SUBSCRIPTION:
                # Subscriptions ignore a result set here; strawberry turns this into one.
                raise error
            # A result set before execution is used as is: graphql-core runs nothing.
            context.result = GraphQLExecutionResult(data=None, errors=[error])
            yield
            return
        yield
        self._refund_unused()

    def _refund_unused(self) -> None:
        """Gives back what the estimate charged beyond the objects actually returned."""
        result = self.execution_context.result
        if self.cost is None or not isinstance(result, GraphQLExecutionResult):
            return
        self.actual = objects_in(result.data)
        if self.limiter is not None:
            client = client_of(self.execution_context.context)
            self.remaining = self.limiter.refund(client, self.cost - self.actual)

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        cost: dict[str, Any] = {"requested": self.cost, "maximum": self.max_cost}
        if self.actual is not None:
            cost["actual"] = self.actual
        if self.remaining is not None:
            cost["remaining"] = self.remaining
        return {"cost": cost}


def rate_limited(
    cost: int, charge: Charge, operation: OperationDefinitionNode | None
) -> GraphQLError:
    return GraphQLError(
        f"Rate limited: this operation costs {cost:,} and {charge.remaining:,} points are left; "
        f"retry in {charge.retry_after_seconds} s.",
        nodes=operation,
        extensions={
            "code": RATE_LIMITED,
            "cost": cost,
            "remaining": charge.remaining,
            "retryAfter": charge.retry_after_seconds,
        },
    )


def client_of(graphql_context: object) -> str:
    """Whose bucket pays: the viewer's, else the client address's."""
    viewer = getattr(graphql_context, "viewer", None)
    viewer_id = getattr(viewer, "id", None)
    if viewer_id:
        return f"viewer:{viewer_id}"
    address = getattr(graphql_context, "client", None)
    return f"address:{address}" if address else "anonymous"


def objects_in(data: object) -> int:
    """How many objects a result holds: what the operation actually cost."""
    count, stack = 0, [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            count += 1
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return max(0, count - 1)  # the root object is free, as in the estimate


def _today(graphql_context: object) -> date:
    """The service clock's date (UTC) when the context has one (`schema.context.Context`)."""
    now = getattr(graphql_context, "now", None)
    value = now() if callable(now) else None
    if not isinstance(value, datetime):
        value = datetime.now(UTC)
    return value.astimezone(UTC).date() if value.tzinfo else value.date()
