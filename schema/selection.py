"""What a query selected below the current field, so resolvers read no more than asked."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from schema.context import Info

BREAKDOWN_FIELDS = frozenset({"byCategory", "byDifficulty", "byHour", "byCertification"})


def _fields(selections: Iterable[Selection]) -> list[SelectedField]:
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            found.extend(_fields(selection.selections))
    return found


def selects_any(info: Info, names: frozenset[str], *path: str) -> bool:
    """Whether the current field's selection, followed down `path`, includes any of `names`."""
    level = _fields(info.selected_fields)
    for name in path:
        level = [field for field in _children(level) if field.name == name]
    return any(field.name in names for field in _children(level))


def _children(fields: list[SelectedField]) -> list[SelectedField]:
    return _fields(selection for field in fields for selection in field.selections)


def selected(info: Info, names: frozenset[str]) -> frozenset[str]:
    """Which of `names` the current field's selection includes, one level down."""
    level = _fields(info.selected_fields)
    return frozenset(field.name for field in _children(level) if field.name in names)
