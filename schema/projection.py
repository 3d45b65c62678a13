"""A shared subscription's selection set, compiled: the fast way to execute it for a payload.

A shared live operation reads only its payload's own data (`schema.live`): plain attributes
and resolvers of the payload alone. For such a selection set, graphql-core's execution (field
collection, resolve info, completion, per field and per value: 80 µs a value for six fields)
comes down to reading each selected attribute and coercing it as its type says. `compiled`
does the collecting once, as graphql-core would (fragments, aliases, `@skip` and `@include`
with the operation's variables), and returns a function that does the rest per value.

The function gives what graphql-core's execution would give as `data` when that has no error;
whenever it might not (a null for a non-null field, a value of the wrong type, a coercion that
fails), it raises `Unprojectable`, and the caller runs graphql-core's execution, which gives
the exact data and errors. Anything it does not compile (arguments, abstract types, resolvers
that take anything but the object itself, async resolvers) makes `compiled` return None.
`tests/schema/test_projection.py` checks it against graphql-core for every field of the
subscription payloads.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, cast

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_object_type,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields
from strawberry.schema.schema_converter import GraphQLCoreConverter

Complete = Callable[[Any], Any]
Projection = Callable[[object], dict[str, Any]]


_NO_INFO: Any = None


class Unprojectable(Exception):
    """This value needs graphql-core's execution (it would give an error, or might)."""


def compiled(executor: Executor[Any]) -> Projection | None:
    """The function computing the subscription event's `data` for a payload, or None."""
    schema = executor.schema
    root = schema.subscription_type
    if root is None:
        return None
    grouped = collect_fields(
        schema,
        executor.fragments,
        executor.variable_values,
        root,
        executor.operation,
        executor.hide_suggestions,
    ).grouped_field_set
    if len(grouped) != 1:
        return None
    [(response_name, details)] = grouped.items()
    field = root.fields.get(details[0].node.name.value)
    definition = None if field is None else _definition(field)
    # A strawberry subscription field resolves each event to the event itself.
    if field is None or definition is None or not definition.is_subscription:
        return None
    complete = _completer(executor, field.type, details)
    if complete is None:
        return None

    def project(payload: object) -> dict[str, Any]:
        return {response_name: complete(payload)}

    return project


def _definition(field: GraphQLField) -> Any:
    return (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)


def _completer(
    executor: Executor[Any], return_type: GraphQLOutputType, details: list[FieldDetails]
) -> Complete | None:
    non_null = isinstance(return_type, GraphQLNonNull)
    if isinstance(return_type, GraphQLNonNull):
        return_type = return_type.of_type
    if is_leaf_type(return_type):
        return _leaf_completer(return_type, non_null=non_null)
    if is_list_type(return_type):
        item = _completer(executor, return_type.of_type, details)
        if item is None:
            return None

        def each(value: Any) -> Any:
            if value is None or value is Undefined:
                if non_null:
                    raise Unprojectable
                return None
            if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
                raise Unprojectable
            return [item(entry) for entry in value]

        return each
    if is_object_type(return_type):
        completed = _object_completer(executor, return_type, details)
        if completed is None or not non_null:
            return completed
        nullable_object = completed

        def non_null_object(value: Any) -> Any:
            result = nullable_object(value)
            if result is None:
                raise Unprojectable
            return result

        return non_null_object
    return None  # interfaces and unions: the runtime type needs resolving


# graphql-core's own scalars give these values back as they are (`coerce_output_value`).
_SAME: dict[GraphQLScalarType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1


def _leaf_completer(return_type: GraphQLOutputType, *, non_null: bool) -> Complete:
    assert isinstance(return_type, GraphQLScalarType | GraphQLEnumType)
    coerce = return_type.coerce_output_value
    same = _SAME.get(return_type) if isinstance(return_type, GraphQLScalarType) else None
    bounded = same is int

    def leaf(value: Any) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise Unprojectable
            return None
        if type(value) is same and (not bounded or _MIN_INT <= cast(int, value) <= _MAX_INT):
            return value
        try:
            coerced = coerce(value)
        except Exception as error:
            raise Unprojectable from error
        if coerced is None or coerced is Undefined:
            raise Unprojectable
        return coerced

    return leaf


def _object_completer(
    executor: Executor[Any], object_type: GraphQLObjectType, details: list[FieldDetails]
) -> Complete | None:
    grouped = collect_subfields(
        executor.schema,
        executor.fragments,
        executor.variable_values,
        executor.operation,
        object_type,
        details,
        executor.hide_suggestions,
    ).grouped_field_set
    fields: list[tuple[str, Callable[[Any], Any], Complete]] = []
    for response_name, field_details in grouped.items():
        node = field_details[0].node
        if node.name.value == "__typename":
            fields.append((response_name, _constant(object_type.name), _same))
            continue
        field = object_type.fields.get(node.name.value)
        if field is None or field.args or node.arguments:
            return None
        read = _reader(field)
        complete = _completer(executor, field.type, field_details)
        if read is None or complete is None:
            return None
        fields.append((response_name, read, complete))
    is_type_of = object_type.is_type_of

    def completed(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if is_type_of is not None:
            try:
                matches = is_type_of(value, _NO_INFO)  # strawberry's looks at the value alone
            except Exception as error:
                raise Unprojectable from error
            if matches is not True:
                raise Unprojectable
        try:
            return {name: complete(read(value)) for name, read, complete in fields}
        except Unprojectable:
            raise
        except Exception as error:  # a resolver failed: graphql-core reports it
            raise Unprojectable from error

    return completed


def _same(value: Any) -> Any:
    return value


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _: value


def _reader(field: GraphQLField) -> Callable[[Any], Any] | None:
    """How strawberry reads the field from its object, when that needs nothing else."""
    definition = _definition(field)
    if definition is None or definition.extensions or definition.permission_classes:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        default = definition.default_resolver
        name = definition.python_name
        if default is getattr:
            return operator.attrgetter(name)
        return lambda source: default(source, name)
    if (
        resolver.is_async
        or resolver.arguments
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or resolver.self_parameter is None
    ):
        return None

    def read(source: Any) -> Any:
        result = definition.get_result(source, None, [source], {})
        if hasattr(result, "__await__"):
            raise Unprojectable
        return result

    return read
