"""Cursor connections (Relay): `first`/`after`, capped page size."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry

from schema.nodes import PageInfo

T = TypeVar("T")


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
