"""``ertplan prepare`` as a pharmacist and an integration use it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ertplan.cli import main  # the installed command's entry: the fast path, then Typer

BASE = ["prepare", "--weight", "70kg", "--dose", "60U/kg", "--every", "2w",
        "--prepared-at", "2026-12-07T08:30:00+01:00"]
CONTRACT = {
    "drug", "weight_kg", "dose_per_kg", "dose_units", "interval_days", "infusions_per_4_weeks",
    "exposure_units_per_kg_per_4_weeks", "vials", "vial_units_total", "waste_units",
    "waste_percent", "alternatives", "reconstitution", "concentration_units_per_ml",
    "withdraw_ml", "sodium_chloride_ml", "final_volume_ml", "infusion", "beyond_use", "alerts",
}


def run_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    assert main([*BASE, *extra, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_the_json_contract_has_every_documented_field(capsys: pytest.CaptureFixture[str]) -> None:
    plan = run_json(capsys)
    assert plan.keys() >= CONTRACT
    assert plan["dose_units"] == 4200
    assert plan["vials"] == [{"units": 400, "count": 10}, {"units": 200, "count": 1}]
    assert plan["withdraw_ml"] == 105
    assert plan["alternatives"] == [{"dose_units": 4200, "percent_of_prescribed": 100.0,
                                     "vials": plan["vials"]}]
    assert plan["reconstitution"] == [
        {"vial_units": 400, "count": 10, "sterile_water_ml": 10.2,
         "concentration_units_per_ml": 40.0},
        {"vial_units": 200, "count": 1, "sterile_water_ml": 5.1,
         "concentration_units_per_ml": 40.0}]
    infusion = plan["infusion"]
    assert isinstance(infusion, dict)
    assert {"duration_min", "rate_ml_per_h", "units_per_kg_per_min", "filter"} <= infusion.keys()
    assert plan["beyond_use"] == {
        "reconstituted_until": "2026-12-07T20:30:00+01:00",
        "reconstituted_basis": plan["beyond_use"]["reconstituted_basis"],  # type: ignore[index]
        "diluted_until": "2026-12-08T08:30:00+01:00",
        "diluted_basis": plan["beyond_use"]["diluted_basis"],  # type: ignore[index]
    }
    for alert in plan["alerts"]:  # type: ignore[attr-defined]
        assert {"code", "severity", "message", "source"} <= alert.keys()


def test_three_times_weekly_is_an_interval_of_seven_thirds(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "--weight", "154 lb", "--dose", "2.5 U/kg",
                 "--times-per-week", "3", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["interval_days"] == pytest.approx(7 / 3)
    assert plan["weight_kg"] == pytest.approx(69.85322498)


def test_site_vial_sizes_come_from_the_environment(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERTPLAN_VIAL_SIZES", "400")
    plan = run_json(capsys)
    assert plan["vials"] == [{"units": 400, "count": 11}]
    assert plan["waste_units"] == 200


def test_room_storage_and_a_short_infusion_are_computed_and_alerted(
        capsys: pytest.CaptureFixture[str]) -> None:
    plan = run_json(capsys, "--storage", "room", "--duration", "30min")
    codes = {alert["code"] for alert in plan["alerts"]}  # type: ignore[attr-defined]
    assert {"no-stability-data", "duration-outside-range"} <= codes
    assert plan["beyond_use"]["diluted_until"] is None  # type: ignore[index]
    assert plan["infusion"]["rate_ml_per_h"] == 300  # type: ignore[index]


def test_the_worksheet_shows_what_the_pharmacist_checks(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(BASE) == 0
    sheet = capsys.readouterr().out
    for expected in ["4,200 U", "400 U", "10.2 mL", "5.1 mL", "40 U/mL", "105 mL", "45 mL",
                     "150 mL", "75 mL/h", "0.2-µm", "2026-12-07 20:30", "2026-12-08 08:30",
                     "vial-size-unavailable", "[unverified]", "verified by a pharmacist"]:
        assert expected in sheet, expected


@pytest.mark.parametrize(("arguments", "field"), [
    (["--weight", "-70kg"], "weight"),
    (["--weight", "70"], "weight"),
    (["--weight", "nan kg"], "weight"),
    (["--weight", "70 m"], "weight"),
    (["--weight", "0.1kg"], "weight"),
    (["--dose", "60mg/kg"], "dose"),
    (["--every", "2kg"], "every"),
    (["--duration", "fast"], "duration"),
    (["--prepared-at", "tomorrow"], "prepared-at"),
    (["--storage", "warm"], "storage"),
    (["--drug", "aspirin"], "drug"),
    (["--vial-sizes", "300"], "vial-sizes"),
    (["--vial-sizes", "big"], "vial-sizes"),
    (["--high-waste-percent", "150"], "high-waste-percent"),
    (["--high-waste-percent", "lots"], "--high-waste-percent"),
    (["--times-per-week", "3"], "every"),
    (["--bogus"], "--bogus"),
])
def test_bad_input_is_refused_with_exit_2_and_one_line(
        capsys: pytest.CaptureFixture[str], arguments: list[str], field: str) -> None:
    options = dict(zip(BASE[1::2], BASE[2::2], strict=True))
    for name, value in zip(arguments[::2], [*arguments[1::2], None], strict=False):
        options[name] = value  # type: ignore[assignment]
    argv = ["prepare"] + [item for name, value in options.items()
                          for item in ([name] if value is None else [name, value])]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("ertplan: error: ")
    assert field in captured.err
    assert "Traceback" not in captured.err


def test_missing_and_contradictory_frequencies_are_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "--weight", "70kg", "--dose", "60U/kg"]) == 2
    assert main(["prepare", "--weight", "70kg", "--dose", "60U/kg", "--every", "2w",
                 "--times-per-week", "3"]) == 2
    assert capsys.readouterr().err.count("exactly one of --every") == 2


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    import ertplan

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ertplan {ertplan.__version__}"
    assert main(["prepare", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for example in ["70kg", "154lb", "60U/kg", "2w", "14d", "60min", "1.5h", "2026-12-07T08:30",
                    "--storage room", "400 or 200,400", "--json"]:
        assert example in help_text, example


def test_the_installed_command_refuses_without_a_traceback(tmp_path: Path) -> None:
    executable = shutil.which("ertplan", path=os.path.dirname(sys.executable))
    assert executable, "ertplan is not installed beside this interpreter"
    environment = {**os.environ, "ERTPLAN_CACHE_DIR": str(tmp_path)}
    refused = subprocess.run([executable, "prepare", "--weight", "-1kg", "--dose", "60U/kg",
                              "--every", "2w"], capture_output=True, text=True, env=environment,
                             check=False)
    assert refused.returncode == 2
    assert refused.stderr == "ertplan: error: weight: must be greater than zero (got '-1kg')\n"
    done = subprocess.run([executable, *BASE, "--json"], capture_output=True, text=True,
                          env=environment, check=True)
    assert json.loads(done.stdout)["dose_units"] == 4200


# ---- the fast path: a well-formed prepare without Typer (its start-up is a measured budget) ----

def test_the_fast_path_reads_exactly_the_options_of_the_typer_command() -> None:
    import typer

    from ertplan.cli.app import app
    from ertplan.cli.fast import ENVIRONMENT, PREPARE_OPTIONS, REQUIRED

    command = typer.main.get_command(app).get_command(None, "prepare")  # type: ignore[attr-defined]
    options = {param.opts[0]: param for param in command.params}
    assert set(options) == set(PREPARE_OPTIONS)
    for flag, (keyword, kind) in PREPARE_OPTIONS.items():
        param = options[flag]
        assert param.name == keyword, flag
        assert param.is_flag == (kind is bool), flag
        assert (param.type.name == "float") == (kind is float), flag
        assert param.envvar == ENVIRONMENT.get(keyword), flag
    assert {param.name for param in command.params if param.required} == set(REQUIRED)


@pytest.mark.parametrize("argv", [
    [*BASE, "--json"],
    [*BASE[:1], "--json", "--weight=154 lb", "--dose", "60U/kg", "--times-per-week=3",
     "--prepared-at=2026-12-07T08:30:00+01:00"],
    [*BASE, "--weight", "80kg", "--high-waste-percent", "5", "--storage", "room", "--json"],
    [*BASE, "--duration", "1.5h", "--diluted-at", "2026-12-07T09:00:00+01:00"],
], ids=["json", "equals-and-floats", "repeated-option", "worksheet"])
def test_the_fast_path_prints_what_the_typer_command_prints(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        argv: list[str]) -> None:
    from ertplan.cli.app import main as typer_main
    from ertplan.cli.fast import prepare_arguments

    monkeypatch.setenv("ERTPLAN_VIAL_SIZES", "400")
    monkeypatch.setenv("COLUMNS", "120")
    assert prepare_arguments(argv) is not None  # taken by the fast path
    assert main(argv) == 0
    fast = capsys.readouterr()
    assert typer_main(argv) == 0
    assert capsys.readouterr() == fast
    assert "400" in fast.out


@pytest.mark.parametrize("argv", [
    ["prepare", "--help"],
    ["prepare", "--weight", "70kg", "--dose", "60U/kg", "--bogus"],
    ["prepare", "--weight", "70kg", "--dose"],
    ["prepare", "--weight", "70kg", "--every", "2w"],
    ["prepare", "--weight", "70kg", "--dose", "60U/kg", "--json=yes"],
    ["prepare", "--weight", "-1kg", "--dose", "60U/kg"],
    ["prepare", "--weight", "70kg", "--dose", "60U/kg", "--times-per-week", "thrice"],
    ["prepare", "70kg"],
    ["calendar", "--weight", "70kg"],
    ["--version"],
    [],
])
def test_what_the_fast_path_does_not_recognise_goes_to_typer(argv: list[str]) -> None:
    from ertplan.cli.fast import prepare_arguments

    assert prepare_arguments(argv) is None


def test_prepare_json_loads_neither_typer_nor_rich(tmp_path: Path) -> None:
    environment = {**os.environ, "ERTPLAN_CACHE_DIR": str(tmp_path)}
    code = ("import sys\n"
            "from ertplan.cli import main\n"
            f"code = main({[*BASE, '--json']!r})\n"
            "loaded = [m for m in ('typer', 'click', 'rich', 'pydantic', 'pint', 'numpy')"
            " if m in sys.modules]\n"
            "print(code, loaded, file=sys.stderr)\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=environment,
                   capture_output=True)  # the first run fills the cache (pint, pydantic)
    warm = subprocess.run([sys.executable, "-c", code], check=True, env=environment,
                          capture_output=True, text=True)
    assert warm.stderr.strip() == "0 []"
    assert json.loads(warm.stdout)["dose_units"] == 4200
