"""``ertplan users add`` and ``ertplan serve``: the first admin, then a signed-in API."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ertplan.cli.app import main


def _add_user(monkeypatch: pytest.MonkeyPatch, url: str, name: str, role: str,
              password: str, *extra: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return main(["users", "add", "--username", name, "--role", role, "--password-stdin",
                 "--database-url", url, *extra])


def test_the_first_admin_is_created_from_the_command_line_on_each_database(
        database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add_user(monkeypatch, database_url, "admin", "admin", "s3cret-enough", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"id": 1, "username": "admin", "role": "admin"}
    assert _add_user(monkeypatch, database_url, "admin", "nurse", "s3cret-enough") == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(("role", "password", "field"), [
    ("surgeon", "long enough", "role"), ("nurse", "short", "password")])
def test_a_bad_role_or_a_short_password_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        role: str, password: str, field: str) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'clinic.sqlite3'}"
    assert _add_user(monkeypatch, url, "ana", role, password) == 2
    assert capsys.readouterr().err.startswith(f"ertplan: error: {field}: ")


def test_an_unreachable_database_is_one_line_without_the_password(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://clinic:hunter2@127.0.0.1:1/ertplan"
    assert _add_user(monkeypatch, url, "ana", "nurse", "long enough") == 2
    err = capsys.readouterr().err
    assert err.startswith("ertplan: error: database-url: cannot open the records")
    assert "hunter2" not in err
    assert err.count("\n") == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_creates_and_migrates_its_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    import httpx2 as httpx

    executable = shutil.which("ertplan", path=str(Path(sys.executable).parent))
    assert executable is not None
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("ERTPLAN_DATABASE_URL", None)
    added = subprocess.run([executable, "users", "add", "--username", "admin", "--role", "admin",
                            "--password-stdin"], input="s3cret-enough\n", env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert added.returncode == 0, added.stderr
    database = tmp_path / "data" / "ertplan" / "ertplan.sqlite3"
    assert database.exists()
    port = _free_port()
    server = subprocess.Popen([executable, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                docs = httpx.get(f"{base}/docs", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "ertplan serve did not start in 30 s"
                time.sleep(0.2)
        assert docs.status_code == 200
        token = httpx.post(f"{base}/auth/token", timeout=10, data={
            "username": "admin", "password": "s3cret-enough"}).json()["access_token"]
        me = httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {token}"},
                       timeout=10)
        assert me.json()["role"] == "admin"
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr:
            server.stderr.close()


def test_the_cli_loads_no_server_or_database_package_until_serve_or_users_runs() -> None:
    # ertplan prepare's cold start is a measured budget (benchmarks/cli.py)
    probe = ("import sys, ertplan.cli.app; print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'sqlalchemy', 'alembic', 'fastapi', 'uvicorn', 'argon2', 'psycopg', 'starlette', "
             "'pydantic_settings'}))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=60).stdout.strip()
    assert loaded == "[]"
