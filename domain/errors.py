"""Failures the rules know about; each layer above maps them to its own vocabulary."""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure caused by the caller; `code` is stable for clients."""

    code = "BAD_USER_INPUT"


class InvalidInput(DomainError):
    """A value breaks a rule. `field` is the path of the offending input field."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, ident: str, *, field: str | None = None) -> None:
        where = f"{field}: " if field else ""
        super().__init__(f"{where}unknown {kind} '{ident}'")
        self.kind = kind
        self.ident = ident
        self.field = field


class IdempotencyConflict(DomainError):
    code = "IDEMPOTENCY_CONFLICT"

    def __init__(self, field: str, key: str, *, what: str = "event id") -> None:
        super().__init__(f"{field}: {what} '{key}' was already recorded with a different payload")
        self.field = field
        self.key = key
