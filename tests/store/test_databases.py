"""The PostgreSQL half of the tests fails loudly, never skips, when the server is away."""

from __future__ import annotations

import pytest

from tests import databases


def test_an_unreachable_postgresql_fails_the_run_saying_how_to_start_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases, "POSTGRES_SERVER_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:1/test")
    with pytest.raises(pytest.fail.Exception, match="pg_ctlcluster"):
        databases._admin_connection()
