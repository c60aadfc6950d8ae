"""``POST /plans/preparation`` answers exactly what ``ertplan prepare --json`` prints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ertplan.app import create_app
from ertplan.cli.app import main
from ertplan.service.settings import Settings
from ertplan.store.db import make_engine
from tests.service.conftest import NOW

CASES = [
    # the README's worked example, then its other two examples
    ({"weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks"},
     ["--weight", "70 kg", "--dose", "60 U/kg", "--every", "2 weeks"]),
    ({"weight": "154 lb", "dose": "2.5 U/kg", "times_per_week": 3},
     ["--weight", "154 lb", "--dose", "2.5 U/kg", "--times-per-week", "3"]),
    ({"weight": "45kg", "dose": "60U/kg", "every": "14d", "vial_sizes": "400",
      "duration": "90min", "storage": "room", "diluted_at": "2026-12-07T09:00:00+00:00"},
     ["--weight", "45kg", "--dose", "60U/kg", "--every", "14d", "--vial-sizes", "400",
      "--duration", "90min", "--storage", "room", "--diluted-at", "2026-12-07T09:00:00+00:00"]),
]
PREPARED_AT = "2026-12-07T08:30:00+00:00"


@pytest.fixture(scope="module")
def planner_client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # planning stores nothing: an engine that is never connected to is enough
    engine = make_engine("sqlite+pysqlite:///" + str(tmp_path_factory.mktemp("unused") / "x.db"))
    app = create_app(engine=engine, settings=Settings(vial_sizes=None), clock=lambda: NOW)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(("body", "options"), CASES)
def test_the_api_plan_is_the_cli_json_object(
        planner_client: TestClient, capsys: pytest.CaptureFixture[str], body: dict[str, Any],
        options: list[str]) -> None:
    assert main(["prepare", *options, "--prepared-at", PREPARED_AT, "--json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    response = planner_client.post("/plans/preparation", json={**body, "prepared_at": PREPARED_AT})
    assert response.status_code == 200, response.text
    assert response.json() == from_cli


def test_the_worked_example_over_http(planner_client: TestClient) -> None:
    plan = planner_client.post("/plans/preparation", json={
        "weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks"}).json()
    assert plan["dose_units"] == 4200
    assert plan["withdraw_ml"] == 105
    assert plan["final_volume_ml"] == 150
    assert plan["infusion"]["rate_ml_per_h"] == 75
    # no prepared_at: the service's clock stands in, as "now" does for the CLI
    assert plan["beyond_use"]["reconstituted_until"] == "2026-12-07T20:00:00+00:00"


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"weight": "70 m", "dose": "60 U/kg", "every": "2w"}, "weight", "must be a mass"),
    ({"weight": "70 kg", "dose": "60 mg/kg", "every": "2w"}, "dose", "enzyme units"),
    ({"weight": "70 kg", "dose": "60 U/kg"}, "every", "exactly one"),
    ({"weight": "70 kg", "dose": "60 U/kg", "every": "2w", "prepared_at": "monday"},
     "prepared_at", "ISO date-time"),
    ({"weight": "70 kg", "dose": "60 U/kg", "every": "2w", "drug": "alglucerase"}, "drug",
     "no monograph"),
])
def test_bad_planning_input_is_a_422_naming_the_field(
        planner_client: TestClient, body: dict[str, Any], field: str, words: str) -> None:
    response = planner_client.post("/plans/preparation", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", field]
    assert words in detail["msg"]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weight=st.text(max_size=12), dose=st.text(max_size=12), every=st.text(max_size=8),
       per_week=st.none() | st.floats())
def test_no_planning_input_gets_a_500(planner_client: TestClient, weight: str, dose: str,
                                      every: str, per_week: float | None) -> None:
    body = {"weight": weight, "dose": dose, "every": every, "times_per_week": per_week}
    response = planner_client.post("/plans/preparation", content=json.dumps(body),
                                   headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 422), response.text


def test_the_api_calendar_is_the_cli_json_object(
        planner_client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--weight", "45kg", "--dose", "60U/kg", "--every", "2w",
                 "--start", "2026-12-07", "--months", "6", "--skip", "2026-12-21",
                 "--json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    response = planner_client.post("/plans/calendar", json={
        "weight": "45 kg", "dose": "60 U/kg", "every": "2 weeks", "start": "2026-12-07",
        "months": 6, "skip": ["2026-12-21"]})
    assert response.status_code == 200, response.text
    assert response.json() == from_cli
    # the case: 2700 U alternates 2800 U and 2600 U with no waste
    assert {infusion["units"] for infusion in from_cli["infusions"]} == {2800, 2600}
    assert from_cli["waste_total_units"] == 0


def test_a_calendar_without_a_start_begins_on_the_services_day(
        planner_client: TestClient) -> None:
    plan = planner_client.post("/plans/calendar", json={
        "weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks", "months": 1}).json()
    assert plan["infusions"][0]["date"] == NOW.date().isoformat()


def test_the_api_pk_is_the_cli_json_object(
        planner_client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pk", "--weight", "70kg", "--dose", "60U/kg", "--duration", "1h",
                 "--half-life", "6min", "--volume", "0.12L/kg", "--json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    response = planner_client.post("/pk", json={
        "weight": "70 kg", "dose": "60 U/kg", "duration": "1 h", "half_life": "6 min",
        "volume": "0.12 L/kg"})
    assert response.status_code == 200, response.text
    assert response.json() == from_cli
    assert round(from_cli["steady_state_units_per_l"], 1) == 72.1  # the hand check


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/plans/calendar", {"weight": "45 kg", "dose": "60 U/kg", "every": "2w",
                         "start": "someday", "months": 6}, "start"),
    ("/plans/calendar", {"weight": "45 kg", "dose": "60 U/kg", "every": "2w",
                         "start": "2026-12-07", "months": 0}, "months"),
    ("/plans/calendar", {"weight": "45 kg", "dose": "60 U/kg", "every": "2w",
                         "start": "2026-12-07", "months": 6, "stock": "lots"}, "stock"),
    ("/pk", {"weight": "70 kg", "dose": "60 U/kg", "half_life": "-6 min"}, "half_life"),
    ("/pk", {"weight": "70 kg", "dose": "60 mg/kg"}, "dose"),
    ("/pk", {"weight": "70 kg", "dose": "60 U/kg", "volume": "8.4 kg"}, "volume"),
])
def test_bad_calendar_and_pk_input_is_a_422_naming_the_field(
        planner_client: TestClient, path: str, body: dict[str, Any], field: str) -> None:
    response = planner_client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]
