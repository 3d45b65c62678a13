"""Relay object identification: opaque global ids and the `Node` interface."""

from __future__ import annotations

import base64
import binascii

import strawberry

from domain.errors import InvalidInput


@strawberry.interface(description="An object with a globally unique id (Relay).")
class Node:
    @strawberry.field(description="The object's global id, accepted by `node(id:)`.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id(type(self).__name__, self.local_id()))

    def local_id(self) -> str:
        raise NotImplementedError


def encode_opaque(kind: str, value: str) -> str:
    """The one codec of Relay ids and cursors: `kind:value`, base64-encoded."""
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_opaque(text: str) -> tuple[str, str]:
    """(kind, value) from `encode_opaque`; empty strings for anything else."""
    try:
        kind, _, value = base64.b64decode(text, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "", ""
    return kind, value


def to_global_id(type_name: str, local_id: str) -> str:
    return encode_opaque(type_name, local_id)


def from_global_id(global_id: str, field: str = "id") -> tuple[str, str]:
    type_name, local_id = decode_opaque(global_id)
    if not type_name or not local_id:
        raise InvalidInput(field, "is not a global id returned by this service")
    return type_name, local_id


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
