"""Errors of the store, in ertplan's one error family (mapped to HTTP in one handler)."""

from __future__ import annotations

from ertplan.core.errors import ErtplanError


class NotFoundError(LookupError, ErtplanError):
    """No record of that kind has that id; ``str(error)`` names both."""

    def __init__(self, entity: str, record_id: object) -> None:
        self.entity = entity
        self.record_id = record_id
        super().__init__(f"{entity} {record_id!r} not found")
