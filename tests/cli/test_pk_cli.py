"""``ertplan pk`` and ``ertplan pk population`` as a pharmacist and a researcher use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ertplan.cli.app import main

ISSUE_CHECK = ["pk", "--weight", "70kg", "--dose", "60U/kg", "--duration", "1h",
               "--half-life", "6min", "--volume", "0.12L/kg"]
CONTRACT = {"clearance_l_per_h", "steady_state_units_per_l", "cmax_units_per_l",
            "auc_units_h_per_l", "time_to_90_percent_min", "time_to_97_percent_min",
            "fraction_of_steady_state_at_30_min", "curve", "alerts", "verification_note"}
POPULATION = ["pk", "population", "--n", "5000", "--dose", "60U/kg", "--duration", "1h",
              "--weight-dist", "normal:70kg,15kg", "--seed", "7"]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_the_issue_check_through_the_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, *ISSUE_CHECK)
    assert result.keys() >= CONTRACT
    assert round(result["steady_state_units_per_l"], 1) == 72.1
    assert round(result["fraction_of_steady_state_at_30_min"] * 100, 1) == 96.9
    assert len(result["curve"]) >= 200
    assert result["curve"][0] == {"t_min": 0.0, "units_per_l": 0.0, "fraction_of_steady_state": 0.0}
    at_30_min = next(point for point in result["curve"] if point["t_min"] == 30.0)
    assert at_30_min["fraction_of_steady_state"] == pytest.approx(1 - 2 ** -5)
    litres = run_json(capsys, *ISSUE_CHECK[:-1], "8.4L")
    assert litres["steady_state_units_per_l"] == pytest.approx(result["steady_state_units_per_l"])


def test_the_antibody_scenario_says_its_factors_are_illustrative(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, *ISSUE_CHECK, "--antibody-positive")
    assert result["antibody"]["antibody_positive"] is True
    assert result["antibody"]["factors_verified"] is False
    assert [a["code"] for a in result["alerts"]] == ["pk-antibody-factors-illustrative"]
    assert result["alerts"][0]["verified"] is False
    assert main([*ISSUE_CHECK, "--antibody-positive"]) == 0
    assert "illustrative" in capsys.readouterr().out


def test_the_figures_for_people_and_the_plots(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    png, svg = tmp_path / "curve.png", tmp_path / "curve.svg"
    assert main([*ISSUE_CHECK, "--plot", str(png)]) == 0
    shown = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for expected in ["72.13 U/L", "58.22 L/h", "19.9 min", "96.9 %", "verified by a pharmacist"]:
        assert expected in shown, expected
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([*ISSUE_CHECK, "--plot", str(svg), "--json"]) == 0
    assert "<svg" in svg.read_text(encoding="utf-8")


def test_a_population_is_reproducible_and_chunking_changes_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(capsys, *POPULATION)
    chunked = run_json(capsys, *POPULATION, "--chunk-size", "999")
    assert first == chunked
    assert first["n_patients"] == 5000
    assert first["seed"] == 7
    assert set(first["cmax_units_per_l"]["percentiles"]) == {"5", "25", "50", "75", "95"}
    assert 0 < first["share_reaching_90_percent_by_30_min_percent"] < 100
    assert len(first["band"]["t_min"]) >= 200


def test_a_population_on_a_dask_scheduler_equals_the_local_run(
        capsys: pytest.CaptureFixture[str], dask_client: Any) -> None:
    local = run_json(capsys, *POPULATION)
    remote = run_json(capsys, *POPULATION, "--chunk-size", "2000",
                      "--dask", dask_client.scheduler.address)
    assert remote == local


def test_weights_from_a_csv_and_a_band_plot(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    table = tmp_path / "clinic.csv"
    table.write_text("patient,weight\nA,70 kg\nB,154 lb\nC,45.5kg\n", encoding="utf-8")
    bands = tmp_path / "bands.png"
    result = run_json(capsys, "pk", "population", "--n", "2000", "--dose", "60U/kg",
                      "--weight-csv", str(table), "--seed", "1", "--percentiles", "5,50,95",
                      "--plot", str(bands))
    assert result["weight_distribution"] == "resampled from 3 given weights"
    assert result["dose_units"]["minimum"] == pytest.approx(45.5 * 60)
    assert bands.read_bytes()[:4] == b"\x89PNG"
    assert main(["pk", "population", "--n", "2000", "--dose", "60U/kg", "--weight-dist",
                 "70kg"]) == 0
    assert "virtual population" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "field"), [
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--half-life", "0min"], "half-life"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--half-life", "-6min"], "half-life"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--half-life", "6kg"], "half-life"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--volume", "0L/kg"], "volume"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--volume", "-8.4L"], "volume"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--volume", "8.4kg"], "volume"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--duration", "0h"], "duration"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--plot", "curve.pdf"], "plot"),
    (["pk", "--weight", "70kg", "--dose", "60U/kg", "--antibody-positive",
      "--antibody-clearance-factor", "0"], "antibody-clearance-factor"),
    (["pk", "--dose", "60U/kg"], "weight"),
    (["pk", "population", "--n", "0", "--dose", "60U/kg", "--weight-dist", "70kg"], "n"),
    (["pk", "population", "--n", "-5", "--dose", "60U/kg", "--weight-dist", "70kg"], "n"),
    (["pk", "population", "--n", "many", "--dose", "60U/kg", "--weight-dist", "70kg"], "--n"),
    (["pk", "population", "--n", "10", "--dose", "60U/kg", "--weight-dist", "gamma:1,2"],
     "weight-dist"),
    (["pk", "population", "--n", "10", "--dose", "60U/kg", "--weight-dist", "500kg"],
     "weight-dist"),
    (["pk", "population", "--n", "10", "--dose", "60U/kg"], "weight-dist"),
    (["pk", "population", "--n", "10", "--dose", "60U/kg", "--weight-dist", "70kg",
      "--antibody-share", "150%"], "antibody-share"),
    (["pk", "population", "--n", "10", "--dose", "60U/kg", "--weight-dist", "70kg",
      "--chunk-size", "0"], "chunk-size"),
    (["pk", "population", "--n", "10", "--dose", "60U/kg", "--weight-csv", "missing.csv"],
     "weight-csv"),
])
def test_bad_input_is_refused_with_exit_2_and_one_line(
        capsys: pytest.CaptureFixture[str], argv: list[str], field: str) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("ertplan: error: ")
    assert field in captured.err
    assert "Traceback" not in captured.err


def test_a_bad_csv_row_is_refused_naming_its_line(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    table = tmp_path / "clinic.csv"
    table.write_text("weight_kg\n70\n-3\n", encoding="utf-8")
    assert main(["pk", "population", "--n", "10", "--dose", "60U/kg", "--weight-csv",
                 str(table)]) == 2
    assert "weight-csv line 3" in capsys.readouterr().err


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pk", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for example in ["70kg", "60U/kg", "6min", "0.12L/kg", "8.4L", "curve.png", "population"]:
        assert example in help_text, example
    assert main(["pk", "population", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for example in ["1000000", "normal:70kg,15kg", "--seed", "tcp://", "bands.png", "15%"]:
        assert example in help_text, example


def test_prepare_still_starts_without_numpy_or_plotting() -> None:
    code = ("import sys, ertplan.cli.app; "
            "print(sorted(m for m in ('numpy', 'scipy', 'matplotlib', 'dask', 'jax') "
            "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ})
    assert loaded.stdout.strip() == "[]"


def test_a_long_run_shows_a_progress_bar_on_a_terminal_only() -> None:
    import io
    import time

    from rich.console import Console

    from ertplan.cli.progress import progress_bar

    screen = io.StringIO()
    with progress_bar(1000, show=True, console=Console(file=screen, force_terminal=True,
                                                       width=80), delay_s=0.0) as advance:
        time.sleep(0.2)  # the bar appears from a timer thread
        advance(400)
        advance(600)
    assert "simulating" in screen.getvalue()
    assert "patients" in screen.getvalue()
    piped = io.StringIO()
    with progress_bar(1000, show=True, console=Console(file=piped), delay_s=0.0) as advance:
        time.sleep(0.2)
        advance(1000)
    assert piped.getvalue() == ""


def test_a_run_under_a_second_shows_no_progress_bar() -> None:
    import io

    from rich.console import Console

    from ertplan.cli.progress import progress_bar

    screen = io.StringIO()
    with progress_bar(1000, console=Console(file=screen, force_terminal=True)) as advance:
        advance(1000)
    assert screen.getvalue() == ""


def test_a_population_on_several_threads_equals_the_one_thread_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    one = run_json(capsys, *POPULATION, "--workers", "1")
    three = run_json(capsys, *POPULATION, "--workers", "3", "--chunk-size", "1234")
    assert three == one
    assert main([*POPULATION, "--workers", "0"]) == 2
    assert "workers" in capsys.readouterr().err


def test_the_jax_backend_reports_itself_and_the_numpy_percentiles(
        capsys: pytest.CaptureFixture[str]) -> None:
    with_numpy = run_json(capsys, *POPULATION)
    with_jax = run_json(capsys, *POPULATION, "--backend", "jax")
    assert (with_numpy["backend"], with_jax["backend"]) == ("numpy", "jax")
    assert with_jax["backend_device"] == "cpu"  # no GPU here or in CI: JAX runs on the CPU
    for name in ("cmax_units_per_l", "time_to_90_percent_min", "band"):
        key = "units_per_l" if name == "band" else "percentiles"
        assert with_jax[name][key] == with_numpy[name][key], name
    assert main([*POPULATION, "--backend", "auto"]) == 0
    assert "numpy on cpu" in " ".join(capsys.readouterr().out.split())


def test_an_unknown_backend_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*POPULATION, "--backend", "cupy"]) == 2
    error = capsys.readouterr().err
    assert "backend" in error
    assert len(error.strip().splitlines()) == 1
