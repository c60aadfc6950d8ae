"""``ertplan calendar`` as a pharmacist, a spreadsheet and a calendar application use it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ertplan.cli.app import main

BASE = ["calendar", "--weight", "45kg", "--dose", "60U/kg", "--every", "2w",
        "--start", "2026-12-07", "--months", "6"]
CONTRACT = {
    "infusions", "prescribed_total_units", "given_total_units", "waste_total_units",
    "baseline_waste_total_units", "windows", "alerts", "verification_note",
}
INFUSION = {"date", "units", "vials", "waste_units", "shifted_from"}
WINDOW = {"prescribed_units", "given_units", "deviation_percent"}


def run_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    assert main([*BASE, *extra, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_the_json_has_every_field_the_issue_names(capsys: pytest.CaptureFixture[str]) -> None:
    calendar = run_json(capsys)
    assert calendar.keys() >= CONTRACT
    infusions = calendar["infusions"]
    assert isinstance(infusions, list)
    assert len(infusions) == 13
    assert all(infusion.keys() >= INFUSION for infusion in infusions)
    assert infusions[0]["date"] == "2026-12-07"
    assert {infusion["units"] for infusion in infusions} == {2600, 2800}
    assert infusions[0]["vials"] in ([{"units": 400, "count": 7}],
                                     [{"units": 400, "count": 6}, {"units": 200, "count": 1}])
    windows = calendar["windows"]
    assert isinstance(windows, list)
    assert all(window.keys() >= WINDOW for window in windows)
    assert {window["given_units"] for window in windows} == {5400}
    assert calendar["waste_total_units"] == 0
    assert calendar["baseline_waste_total_units"] == 1300
    assert calendar["prescribed_total_units"] == 13 * 2700
    assert "pharmacist" in str(calendar["verification_note"])


def test_skip_weight_change_stock_and_price_reach_the_json(
        capsys: pytest.CaptureFixture[str]) -> None:
    calendar = run_json(capsys, "--skip", "2026-12-21", "--weight-on", "2027-02-01=47kg",
                        "--stock", "400=30,200=4", "--price-per-unit", "3", "--currency", "EUR")
    infusions = calendar["infusions"]
    assert isinstance(infusions, list)
    assert infusions[1]["shifted_from"] == "2026-12-21"
    assert infusions[1]["date"] == "2026-12-22"
    assert {i["prescribed_units"] for i in infusions if i["date"] >= "2027-02-01"} == {2820}
    stock = calendar["stock"]
    assert isinstance(stock, dict)
    assert stock["runs_out_on"] is not None
    cost = calendar["cost"]
    assert isinstance(cost, dict)
    assert cost["currency"] == "EUR"
    assert {a["code"] for a in calendar["alerts"]} >= {"stock-runs-out"}  # type: ignore[attr-defined]


def test_three_times_weekly_on_chosen_weekdays(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--weight", "23kg", "--dose", "2.5U/kg", "--times-per-week", "2",
                 "--weekdays", "tue,fri", "--start", "2026-12-07", "--end", "2026-12-31",
                 "--json"]) == 0
    calendar = json.loads(capsys.readouterr().out)
    assert calendar["weekdays"] == ["tue", "fri"]
    assert [i["date"] for i in calendar["infusions"]][:3] == ["2026-12-08", "2026-12-11",
                                                              "2026-12-15"]


def test_the_csv_has_one_row_per_infusion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 13
    assert rows[0]["date"] == "2026-12-07"
    assert {row["units"] for row in rows} == {"2600", "2800"}
    assert rows[0]["window_given_units"] == "5400"
    assert rows[-1]["window_given_units"] == ""  # the last window starts one infusion earlier


def test_the_ics_file_is_written_and_the_json_still_printed(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "infusions.ics"
    calendar = run_json(capsys, "--ics", str(target))
    content = target.read_bytes()
    assert content.startswith(b"BEGIN:VCALENDAR\r\n")
    assert content.count(b"BEGIN:VEVENT") == len(calendar["infusions"])  # type: ignore[arg-type]
    assert b"DTSTART;VALUE=DATE:20261207" in content


def test_the_table_shows_what_the_pharmacist_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--skip", "2026-12-21"]) == 0
    shown = capsys.readouterr().out
    for expected in ["2026-12-07", "2026-12-22*", "2,800", "2,600", "7×400", "6×400+1×200",
                     "5,400/5,400", "moved off a skipped day", "Saving", "1,300 U",
                     "no vial is shared", "optimal", "verified by a pharmacist"]:
        assert expected in shown, expected


@pytest.mark.parametrize(("arguments", "field"), [
    (["--end", "2026-12-01", "--months", None], "end"),
    (["--months", "0"], "months"),
    (["--months", None], "months"),
    (["--end", "2027-01-01"], "months"),
    (["--start", "someday"], "start"),
    (["--every", None, "--times-per-week", "3", "--weekdays", "mon,wed,fry"], "weekdays"),
    (["--every", None, "--times-per-week", "2"], "weekdays"),
    (["--weekdays", "mon"], "weekdays"),
    (["--every", "36h"], "every"),
    (["--stock", "400:30"], "stock"),
    (["--stock", "400=lots"], "stock"),
    (["--stock", "300=3"], "stock"),
    (["--skip", "christmas"], "skip"),
    (["--weight-on", "2027-02-01"], "weight-on"),
    (["--weight-on", "2026-01-01=50kg"], "weight-on"),
    (["--weight-on", "2027-02-01=50m"], "weight-on"),
    (["--infusion-tolerance", "-5"], "infusion-tolerance"),
    (["--price-per-vial", "400=100"], "price-per-vial"),
    (["--price-per-unit", "3", "--price-per-vial", "400=1,200=1"], "price-per-unit"),
    (["--csv", "--json"], "json"),
    (["--weight", "45"], "weight"),
    (["--dose", "60mg/kg"], "dose"),
])
def test_bad_input_is_refused_with_exit_2_and_one_line(
        capsys: pytest.CaptureFixture[str], arguments: list[str | None], field: str) -> None:
    options: dict[str, str | None] = dict(zip(BASE[1::2], BASE[2::2], strict=True))
    flags: list[str] = []
    index = 0
    while index < len(arguments):
        name = arguments[index]
        assert name is not None
        following = arguments[index + 1] if index + 1 < len(arguments) else "--"
        if name in ("--csv", "--json"):
            flags.append(name)
            index += 1
            continue
        options[name] = following
        index += 2
    argv = ["calendar"] + [item for name, value in options.items() if value is not None
                           for item in (name, value)] + flags
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("ertplan: error: ")
    assert field in captured.err
    assert "Traceback" not in captured.err


def test_help_gives_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for example in ["45kg", "60U/kg", "2w", "mon,wed,fri", "2026-12-07", "--weight-on",
                    "400=30,200=4", "--ics", "--csv", "--json"]:
        assert example in help_text, example


def test_an_unwritable_ics_file_is_refused(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    assert main([*BASE, "--ics", str(tmp_path / "missing" / "x.ics")]) == 2
    assert "ics" in capsys.readouterr().err
