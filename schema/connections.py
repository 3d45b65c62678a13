"""Cursor connections (Relay): `first`/`after`, capped page size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from domain.errors import InvalidInput
from resolvers.reading import Page
from schema.nodes import PageInfo, decode_opaque, encode_opaque

T = TypeVar("T")
V = TypeVar("V")
_AFTER = "after"


def encode_cursor(key: str) -> str:
    return encode_opaque(_AFTER, key)


def decode_cursor(cursor: str | None, field: str = "after") -> str | None:
    """The key a cursor points after (None for no cursor); refuses cursors not made here."""
    if cursor is None:
        return None
    kind, key = decode_opaque(cursor)
    if kind != _AFTER or not key:
        raise InvalidInput(field, "is not a cursor returned by this connection")
    return key


@strawberry.type(description="One item of a page and the cursor that points at it.")
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of items; pass `pageInfo.endCursor` as `after` for more.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="The page's items, without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of_page(
        cls, page: Page[V], *, key: Callable[[V], str], view: Callable[[V], T], after: str | None
    ) -> Connection[T]:
        """A use case's page as a connection: cursors from each item's key."""
        pairs = [(encode_cursor(key(item)), view(item)) for item in page.items]
        return cls.of(pairs, has_next=page.has_next, after=after)

    @classmethod
    def of(cls, pairs: list[tuple[str, T]], *, has_next: bool, after: str | None) -> Connection[T]:
        edges = [Edge(cursor=cursor, node=node) for cursor, node in pairs]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
