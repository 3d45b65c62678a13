"""Live queries, multiplexed: the subscribers of one operation share its execution.

Subscribers over WebSocket whose operation is the same (document, variables and operation name)
and who follow the same key of the same topic share ONE execution of the selection set per
value, and ONE encoded payload, spliced into each subscription's `next` envelope (its own id and
extensions, encoded when it joins) and pushed to each socket's outbox (`schema.outbox`): the way
Hasura multiplexes live queries.

What stays per subscriber is everything up to the live part. Each subscription runs its own
resolver, so its access is checked when it starts, as it always was; its catch-up (`after`) is
read and sent on its own; a refusal or any other error is its own. Only once its feed
subscription has caught up (nothing queued) is it handed over (`persistence.feed.Handover`) to
the group of its operation, which from then on delivers its live values: the group listens to
the feed once, executes each value once, encodes it once. A slow socket holds up no one (its
outbox queues at most `QUEUE_SIZE` updates a subscription: then it loses its oldest, or on a
lossless topic it is let go, after what it has, to resume with `after`).

The rule: an operation is shared only when its result cannot depend on who asks. Every field
below the subscription field must be the payload's own data; a field whose resolver takes
`info` (it could read the viewer from the context), or has permission classes or field
extensions, makes the operation run per subscriber, as every operation did before. Today every
field of `AchievementUnlock`, and every field of `ContentProgress` but `review` and `content`,
is such data.

A writer of this process hands its values to the feed before its commit too (`prepare`): a
group renders them then (executes and encodes, when its selection is a projection), keeping at
most `MAX_PREPARED` of them, and once the commit is confirmed sends what it rendered, so that the
time from commit to socket is the sending alone. A value that comes another way (the change
stream's copy) or could not be rendered is executed when it comes, as any other.

A subscription takes part by being an ordinary strawberry subscription over a feed topic that
yields `live(info, values, Type.from_domain)`: its use case subscribes through the feed, and
passes the feed's live values on unchanged (see `persistence.feed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
)
from graphql.execution import Executor, execute_subscription_event
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext

from persistence import metrics
from resolvers.live import QUEUE_SIZE, Handover, SubscriberLagged, Subscription, accepts
from resolvers.live import handing_over as _handing_over
from schema.context import Info
from schema.errors import mask_unexpected, report_errors, report_shared_errors
from schema.logs import RequestContext, bound_request, current_request
from schema.outbox import Outbox
from schema.projection import Unprojectable, compiled

V = TypeVar("V")
P = TypeVar("P")
Encode = Callable[[object], str]
# (topic collection, feed key, document, variables, operation name)
GroupKey = tuple[str, str, str, str, str | None]
MAX_VERDICTS = 1024  # operations whose shareability is remembered
MAX_PREPARED = 64  # payloads a group keeps rendered ahead of their commit


@dataclass
class LiveOperation:
    """A graphql-transport-ws operation being run (bound by the transport for its task)."""

    multiplexer: Multiplexer
    outbox: Outbox
    id: str
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    # Set when strawberry starts executing it (`note_execution`).
    execution: ExecutionContext | None = None
    extensions: SchemaExtensionsRunner | None = None


_OPERATION: ContextVar[LiveOperation | None] = ContextVar("cairn_live_operation", default=None)


@contextlib.contextmanager
def serving(operation: LiveOperation) -> Iterator[None]:
    """Binds the operation the current task runs, for `live` to find."""
    token = _OPERATION.set(operation)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            _OPERATION.reset(token)


def note_execution(execution: ExecutionContext, extensions: SchemaExtensionsRunner) -> None:
    """Remembers, for the operation being served, its execution context and extensions."""
    operation = _OPERATION.get()
    if operation is not None and operation.execution is None:
        operation.execution = execution
        operation.extensions = extensions


async def live(
    info: Info, values: AsyncGenerator[V, None], to_payload: Callable[[V], P]
) -> AsyncGenerator[P, None]:
    """A subscription's payloads: `to_payload` of each value, the live ones possibly delivered
    for this subscriber by the group of its operation (see the module doc). `to_payload` must be
    the same for every subscriber of the operation (the payload type's `from_domain`)."""
    operation = _OPERATION.get()
    handover = None
    if operation is not None:
        handover = operation.multiplexer.handover(operation, info.context, to_payload)
    with _handing_over(handover):
        async with contextlib.aclosing(values):
            async for value in values:
                yield to_payload(value)


class Multiplexer:
    """The groups of this process's shared subscriptions; one per WebSocket endpoint."""

    def __init__(self, encode: Encode) -> None:
        self.encode = encode
        self._groups: dict[GroupKey, Group] = {}
        self._verdicts: dict[tuple[str, str | None], bool] = {}
        # What sharing saves, for tests and curious operators: executions of a selection set
        # and encodings of a shared payload.
        self.executions = 0
        self.encodings = 0
        # Deliveries not yet counted in `persistence.metrics`: a batch's thousand executions
        # are counted once, after they are sent.
        self._uncounted: list[int] = []

    def count(self, deliveries: int) -> None:
        """Counts one execution delivered to `deliveries` subscribers (in the metrics soon)."""
        if not self._uncounted:
            asyncio.get_running_loop().call_soon(self._count)
        self._uncounted.append(deliveries)

    def _count(self) -> None:
        uncounted, self._uncounted = self._uncounted, []
        metrics.count_live_executions(len(uncounted), sum(uncounted))

    @property
    def groups(self) -> int:
        return len(self._groups)

    @property
    def members(self) -> int:
        """Subscriptions whose live values their group delivers."""
        return sum(len(group.members) for group in self._groups.values())

    def handover(
        self, operation: LiveOperation, context: object, to_payload: Callable[[Any], Any]
    ) -> Handover | None:
        """How the operation's subscriber hands its live values over, or None when its result
        could depend on the viewer (or it cannot be shared for another reason)."""
        execution, extensions = operation.execution, operation.extensions
        if execution is None or extensions is None or execution.graphql_document is None:
            return None
        if any(type(extension)._implements_resolve() for extension in extensions.extensions):
            return None  # a resolve hook runs per field and per subscriber
        verdict_key = (operation.query, operation.operation_name)
        verdict = self._verdicts.get(verdict_key)
        if verdict is None:
            document = execution.graphql_document
            verdict = payload_only(execution.schema._schema, document, operation.operation_name)
            if len(self._verdicts) >= MAX_VERDICTS:
                self._verdicts.clear()
            self._verdicts[verdict_key] = verdict
        return _Handover(self, operation, context, to_payload) if verdict else None

    def join(
        self,
        operation: LiveOperation,
        subscription: Subscription[Any],
        context: object,
        to_payload: Callable[[Any], Any],
    ) -> Member | None:
        execution, runner = operation.execution, operation.extensions
        assert execution is not None and runner is not None
        try:
            extensions = {**runner.get_extensions_results_sync(), **execution.extensions_results}
        except RuntimeError:
            return None  # an extension reports asynchronously: leave it to strawberry
        variables = json.dumps(operation.variables or {}, sort_keys=True, separators=(",", ":"))
        key: GroupKey = (
            subscription.topic.collection,
            subscription.key,
            operation.query,
            variables,
            operation.operation_name,
        )
        group = self._groups.get(key)
        if group is None:
            assert execution.graphql_document is not None
            executor = Executor.build(
                execution.schema._schema,
                execution.graphql_document,
                context_value=context,
                raw_variable_values=operation.variables,
                operation_name=operation.operation_name,
            )
            if isinstance(executor, list):
                return None  # the variables do not fit: the subscriber's own run says so
            group = Group(self, key, subscription, executor, to_payload)
            self._groups[key] = group
        return group.join(operation, subscription, extensions)

    def _forget(self, group: Group) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]


class _Handover:
    def __init__(
        self,
        multiplexer: Multiplexer,
        operation: LiveOperation,
        context: object,
        to_payload: Callable[[Any], Any],
    ) -> None:
        self._multiplexer = multiplexer
        self._operation = operation
        self._context = context
        self._to_payload = to_payload

    def take(self, subscription: Subscription[Any]) -> Awaitable[None] | None:
        member = self._multiplexer.join(
            self._operation, subscription, self._context, self._to_payload
        )
        return None if member is None else member.run()


class Group:
    """The subscribers of one operation following one key: one execution, one encoding, per
    value. It listens to the feed itself; its members' own subscriptions no longer queue."""

    def __init__(
        self,
        multiplexer: Multiplexer,
        key: GroupKey,
        subscription: Subscription[Any],
        executor: Executor[Any],
        to_payload: Callable[[Any], Any],
    ) -> None:
        self._multiplexer = multiplexer
        self.key = key
        self._executor = executor
        self._project = compiled(executor)
        self._to_payload = to_payload
        self._position = subscription.topic.position
        self.lossless = subscription.topic.lossless
        self.members: dict[Member, None] = {}  # in joining order
        self._offered = 0  # values offered so far: a member takes those offered after it joined
        self._backlog: deque[tuple[int, object, bool]] = deque()
        # Payloads rendered before their commit (`prepare`), by the value's identity; the
        # value is kept with its payload, so that its identity is not reused meanwhile.
        self._prepared: dict[int, tuple[object, str]] = {}
        self._busy = False  # an execution is awaiting something: later values wait their turn
        self._running: asyncio.Task[None] | None = None
        self._listening = contextlib.ExitStack()
        self._listening.enter_context(
            subscription.feed.listen(subscription.topic, subscription.key, self)
        )

    def join(
        self, operation: LiveOperation, subscription: Subscription[Any], extensions: dict[str, Any]
    ) -> Member:
        member = Member(
            self,
            operation,
            position=subscription.position,
            joined=self._offered,
            extensions=extensions,
            request=current_request(),
        )
        self.members[member] = None
        return member

    def leave(self, member: Member) -> None:
        self.members.pop(member, None)
        if not self.members:
            self._listening.close()
            self._multiplexer._forget(self)

    def prepare(self, value: object) -> None:
        """Renders the value's payload ahead of its commit, when that is a projection (nothing
        to await, no error): delivering it then costs only the sending."""
        if not self.members or self._project is None:
            return
        try:
            data = self._project(self._to_payload(value))
        except Exception:  # Unprojectable, or a resolver's error: rendered when delivered
            return
        self._multiplexer.executions += 1
        self._multiplexer.encodings += 1
        if len(self._prepared) >= MAX_PREPARED:  # the oldest was never offered (its commit
            del self._prepared[next(iter(self._prepared))]  # failed, or it went elsewhere)
        self._prepared[id(value)] = (value, self._multiplexer.encode(data))

    def offer(self, value: object, *, early: bool) -> None:
        """The feed's delivery: processed at once, unless an earlier value is still running."""
        self._offered += 1
        if not self._busy:
            self._process(self._offered, value, early)
            return
        self._backlog.append((self._offered, value, early))
        if len(self._backlog) > QUEUE_SIZE:  # this process cannot keep up
            if self.lossless:
                for member in list(self.members):
                    member.lag()
            else:
                self._backlog.popleft()

    def _process(self, index: int, value: object, early: bool) -> None:
        prepared = self._prepared.pop(id(value), None) if self._prepared else None
        at = None if self._position is None else self._position(value)
        takers = [
            member
            for member in self.members
            if member.joined < index and accepts(member.position, at, early=early)
        ]
        if not takers:
            return
        if at is not None:
            for member in takers:
                member.position = at
        if prepared is not None and prepared[0] is value:
            self._multiplexer.count(len(takers))
            self._deliver(prepared[1], takers)
            return
        self._multiplexer.executions += 1
        result = self._execute(value)
        if isawaitable(result):
            self._busy = True
            self._running = asyncio.create_task(
                self._finish(result, takers), name="cairn-live-execution"
            )
            return
        self._send(result, takers)

    def _execute(self, value: object) -> ExecutionResult | Awaitable[ExecutionResult]:
        try:
            payload = self._to_payload(value)
            if self._project is not None:
                with contextlib.suppress(Unprojectable):
                    return ExecutionResult(self._project(payload), None)
            return execute_subscription_event(self._executor.build_per_event_executor(payload))
        except Exception as error:  # graphql-core reports a field's errors in the result
            return ExecutionResult(None, [GraphQLError(str(error), original_error=error)])

    async def _finish(self, running: Awaitable[ExecutionResult], takers: list[Member]) -> None:
        try:
            result = await running
        except Exception as error:
            result = ExecutionResult(None, [GraphQLError(str(error), original_error=error)])
        self._send(result, takers)
        self._busy = False
        while self._backlog and not self._busy:
            index, value, early = self._backlog.popleft()
            self._process(index, value, early)

    def _send(self, result: ExecutionResult, takers: list[Member]) -> None:
        self._multiplexer.count(len(takers))
        if result.errors:  # each subscriber's errors are its own: logged and masked for it
            logged_under: str | None = None
            for member in takers:
                member.deliver(member.with_errors(result, logged_under))
                logged_under = logged_under or member.request_id
            return
        self._multiplexer.encodings += 1
        self._deliver(self._multiplexer.encode(result.data), takers)

    def _deliver(self, data: str, takers: list[Member]) -> None:
        for member in takers:
            member.deliver(member.prefix + data + member.suffix)


class Member:
    """One subscription delivered by its group."""

    def __init__(
        self,
        group: Group,
        operation: LiveOperation,
        *,
        position: int | None,
        joined: int,
        extensions: dict[str, Any],
        request: RequestContext | None,
    ) -> None:
        encode = group._multiplexer.encode
        self._group = group
        self._operation = operation
        self._outbox = operation.outbox
        self._extensions = extensions
        self._request = request
        self.position = position
        self.joined = joined
        self.pending = 0  # updates waiting in the outbox
        # The `next` message strawberry would send, around the payload's data.
        self.prefix = f'{{"id":{encode(operation.id)},"type":"next","payload":{{"data":'
        self.suffix = f',"extensions":{encode(extensions)}}}}}' if extensions else "}}"
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def run(self) -> None:
        """Until the subscription ends: cancelled (its client completed it or went away), or
        let go (SubscriberLagged) after what it has."""
        try:
            await self._ended
        finally:
            if not self._ended.done() or self._ended.cancelled():
                self._outbox.forget(self)
            self._group.leave(self)

    def deliver(self, text: str) -> None:
        if self._ended.done():
            return
        if self.pending >= QUEUE_SIZE:
            if self._group.lossless:
                self.lag()
                return
            self._outbox.drop_oldest(self)
        self._outbox.push(self, text)

    def lag(self) -> None:
        if not self._ended.done():
            self._ended.set_exception(SubscriberLagged(self._group.key[0]))
        self._group.leave(self)

    @property
    def request_id(self) -> str | None:
        return None if self._request is None else self._request.request_id

    def with_errors(self, result: ExecutionResult, logged_under: str | None) -> str:
        """The `next` message for a result with errors, reported for this subscription (the
        first subscriber's report has the traceback; later ones point to it)."""
        errors = result.errors or []
        with bound_request(self._request):
            if logged_under is None:
                report_errors(errors, self._operation.execution)
            else:
                report_shared_errors(errors, logged_under)
            errors = mask_unexpected(errors, self.request_id)
        payload: dict[str, Any] = {
            "data": result.data,
            "errors": [error.formatted for error in errors],
        }
        if self._extensions:
            payload["extensions"] = self._extensions
        message = {"id": self._operation.id, "type": "next", "payload": payload}
        return self._group._multiplexer.encode(message)


def payload_only(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> bool:
    """Whether every field below the subscription field is the payload's own data: no resolver
    of its own that takes `info`, no permission classes, no field extensions."""
    operation = get_operation_ast(document, operation_name)
    root = schema.subscription_type
    if operation is None or root is None:
        return False
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return _payload_only(schema, root, operation.selection_set, fragments, set(), root=True)


def _payload_only(
    schema: GraphQLSchema,
    parent: GraphQLNamedType,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
    *,
    root: bool = False,
) -> bool:
    owners = list(schema.get_possible_types(parent)) if is_abstract_type(parent) else [parent]
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue  # __typename: all validation allows below a subscription field
            for owner in owners:
                field: GraphQLField | None = getattr(owner, "fields", {}).get(name)
                if field is None:
                    continue
                if not root and _reads_context(field):
                    return False
                below = selection.selection_set
                if below is not None and not _payload_only(
                    schema, get_named_type(field.type), below, fragments, seen
                ):
                    return False
        else:
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                below = selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                if selection.name.value in seen:
                    continue
                seen.add(selection.name.value)
                fragment = fragments[selection.name.value]
                condition = fragment.type_condition
                below = fragment.selection_set
            target = schema.get_type(condition.name.value) if condition else parent
            if target is None or not _payload_only(
                schema, target, below, fragments, seen, root=root
            ):
                return False
    return True


def _reads_context(field: GraphQLField) -> bool:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None:
        return True  # not strawberry's: nothing says what it reads
    resolver = definition.base_resolver
    return bool(
        definition.permission_classes
        or definition.extensions
        or (resolver is not None and resolver.info_parameter is not None)
    )
