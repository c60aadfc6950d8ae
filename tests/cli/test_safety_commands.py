"""``ertplan screen``, ``reaction``, ``monitor plan|assess``, ``prepare --patient``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ertplan.cli.app import main

TODAY = ["--today", "2026-11-27"]
PATIENT_TOML = """\
id = "P-7"
birth_date = 1992-05-01
sex = "female"
weight_kg = 70
gaucher_type = 1
manifestations = ["anemia", "splenomegaly"]
therapy_start = 2026-01-15
"""
LABS_CSV = """\
date,analyte,value,unit
2026-01-10,haemoglobin,9.0,g/dL
2026-03-15,Hb,90,g/L
2026-05-15,hemoglobin,6.0,mmol/L
2026-08-15,haemoglobin,10.4,g/dL
2026-01-10,platelets,55000,/mm3
2026-04-15,platelets,70,10^9/L
2026-07-15,platelets,80,10^9/L
2026-10-15,platelets,86,10^9/L
2026-01-10,spleen-volume,2100,mL
2026-07-15,spleen-volume,12,MN
"""


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("ertplan: error: ")
    assert "Traceback" not in captured.err
    return captured.err


@pytest.fixture
def patient_file(tmp_path: Path) -> Path:
    path = tmp_path / "patient.toml"
    path.write_text(PATIENT_TOML, encoding="utf-8")
    return path


@pytest.fixture
def labs(tmp_path: Path) -> Path:
    path = tmp_path / "labs.csv"
    path.write_text(LABS_CSV, encoding="utf-8")
    return path


# ---- screen -------------------------------------------------------------------------------------


def test_screen_from_flags(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "screen", "--age", "1.5", "--gaucher-type", "1", "--pregnant",
                      "--respiratory-symptoms", *TODAY)
    assert [alert["code"] for alert in result["alerts"]] == [
        "indication-not-met", "age-under-2", "pregnancy", "respiratory-symptoms-afebrile"]
    assert all({"code", "severity", "message", "source", "verified"} <= alert.keys()
               for alert in result["alerts"])
    assert "verified by a pharmacist" in result["verification_note"]


def test_screen_from_a_file_with_flags_overriding_it(capsys: pytest.CaptureFixture[str],
                                                     patient_file: Path) -> None:
    result = run_json(capsys, "screen", "--patient", str(patient_file), *TODAY)
    assert [alert["code"] for alert in result["alerts"]] == ["antibody-testing-due"]
    assert result["patient"]["manifestations"] == ["anaemia", "splenomegaly"]
    overridden = run_json(capsys, "screen", "--patient", str(patient_file), "--gaucher-type", "3",
                          "--antibody-tested-on", "2026-10-01", *TODAY)
    assert [alert["code"] for alert in overridden["alerts"]] == ["neuronopathic-off-label"]


def test_screen_table_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "--gaucher-type", "2", "--breastfeeding", *TODAY]) == 0
    out = capsys.readouterr().out
    for expected in ["neuronopathic-off-label", "lactation", "not checked: age-under-2",
                     "verified by a pharmacist"]:
        assert expected in out


@pytest.mark.parametrize(("argv", "field"), [
    (["--birth-date", "2030-01-01"], "birth_date"),  # a future birth date
    (["--birth-date", "yesterday"], "birth_date"),
    (["--age", "-3"], "age_years"),
    (["--gaucher-type", "4"], "gaucher_type"),
    (["--manifestation", "fatigue"], "manifestations"),
    (["--antibody-status", "maybe"], "antibody_status"),
    (["--today", "soon"], "today"),
    (["--patient", "missing.toml"], "patient"),
])
def test_screen_refuses_bad_input_naming_the_field(capsys: pytest.CaptureFixture[str],
                                                   argv: list[str], field: str) -> None:
    today = [] if "--today" in argv else TODAY
    assert field in refused(capsys, "screen", *argv, *today)


def test_a_malformed_patient_file_is_refused(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("birth_date = [", encoding="utf-8")
    assert "patient: is not valid TOML" in refused(capsys, "screen", "--patient", str(broken))


# ---- reaction -----------------------------------------------------------------------------------

REACTION = ["reaction", "--weight", "70kg", "--dose", "60U/kg", "--every", "2w",
            "--duration", "60min", "--final-volume", "200mL",
            "--prepared-at", "2026-12-07T08:30:00+01:00"]


def test_reaction_hand_check_4200u_in_200ml_over_2h_is_100ml_per_h(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, *REACTION, "--sign", "urticaria,dyspnea", "--onset", "40min",
                      "--age", "30", *TODAY)
    assert result["grade"]["grade"] == 2
    assert result["grade"]["verified"] is False
    following = result["next_infusion"]
    assert (following["previous_rate_ml_per_h"], following["rate_ml_per_h"]) == (200, 100)
    assert following["duration_min"] == 120
    assert following["premedication"] is True
    plan = following["plan"]
    assert (plan["dose_units"], plan["withdraw_ml"], plan["sodium_chloride_ml"],
            plan["final_volume_ml"]) == (4200, 105, 95, 200)
    assert {alert["code"] for alert in result["alerts"]} == {
        "hypersensitivity-reaction", "reevaluate-therapy"}
    assert [group["age_group"] for group in result["common_adverse_effects"]] == [
        "adults and adolescents over 12 years"]


def test_reaction_worksheet_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*REACTION, "--sign", "hypotension", "--onset", "20min", *TODAY]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for expected in ["Grade 3 (severe)", "[unverified]", "100 mL/h", "200 mL/h",
                     "antihistamines and/or corticosteroids", "Not covered by the references",
                     "reevaluate-therapy"]:
        assert expected in out, expected


@pytest.mark.parametrize(("argv", "field"), [
    (["--sign", "sneezing"], "sign"),
    (["--sign", "urticaria", "--onset", "soon"], "onset"),
    (["--sign", "urticaria", "--onset", "-5min"], "onset"),
    (["--sign", "urticaria", "--final-volume", "50mL"], "final-volume"),  # less than 105 mL drug
    (["--sign", "urticaria", "--final-volume", "200kg"], "final-volume"),
])
def test_reaction_refuses_bad_input_naming_the_field(capsys: pytest.CaptureFixture[str],
                                                     argv: list[str], field: str) -> None:
    assert field in refused(capsys, *REACTION, *argv)


# ---- monitor plan -------------------------------------------------------------------------------


def test_monitor_plan_json_and_ics(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ics = tmp_path / "plan.ics"
    result = run_json(capsys, "monitor", "plan", "--therapy-start", "2026-01-15", "--years", "1",
                      "--interval", "igg-antibodies=2", "--ics", str(ics), *TODAY)
    assert [(i["due_on"], i["item"]) for i in result["items"]][:3] == [
        ("2026-03-15", "igg-antibodies"), ("2026-04-15", "blood-count"),
        ("2026-05-15", "igg-antibodies")]
    assert result["intervals_months"]["igg-antibodies"] == 2
    raw = ics.read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert raw.endswith(b"END:VCALENDAR\r\n")
    assert raw.count(b"BEGIN:VEVENT") == len(result["items"])
    assert b"DTSTART;VALUE=DATE:20260315\r\n" in raw
    assert b"DTSTAMP:20261127T000000Z\r\n" in raw
    assert b"UID:2026-01-15-igg-antibodies-m2@ertplan\r\n" in raw


def test_monitor_plan_takes_the_start_from_the_patient(capsys: pytest.CaptureFixture[str],
                                                        patient_file: Path) -> None:
    assert main(["monitor", "plan", "--patient", str(patient_file), *TODAY]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for expected in ["2026-07-15", "6-month", "M17, M31", "C1998"]:
        assert expected in out, expected


@pytest.mark.parametrize(("argv", "field"), [
    ([], "therapy-start"),
    (["--therapy-start", "15/01/2026"], "therapy_start"),
    (["--therapy-start", "2026-01-15", "--interval", "igg-antibodies=often"], "interval"),
    (["--therapy-start", "2026-01-15", "--interval", "response-review=2"], "interval"),
    (["--therapy-start", "2026-01-15", "--years", "0"], "years"),
])
def test_monitor_plan_refuses_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str],
                                        field: str) -> None:
    assert field in refused(capsys, "monitor", "plan", *argv, *TODAY)


# ---- monitor assess -----------------------------------------------------------------------------


def test_monitor_assess_json_with_lab_units_and_charts(capsys: pytest.CaptureFixture[str],
                                                       patient_file: Path, labs: Path,
                                                       tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    result = run_json(capsys, "monitor", "assess", "--observations", str(labs), "--patient",
                      str(patient_file), "--plot", str(charts), *TODAY)
    goals = {goal["goal"]: goal for goal in result["goals"]}
    assert goals["haemoglobin-women-children"]["status"] in ("on track", "not on track")
    assert goals["platelets-rise-severe"]["status"] == "met"  # 55 -> 86 >= 1.5 x 55 = 82.5
    assert goals["spleen-down-30-percent-year-1"]["status"] == "on track"
    assert goals["spleen-down-30-percent-year-1"]["target_value"] == pytest.approx(10.5)
    observed = {(o["analyte"], o["observed_on"]): o["value"] for o in result["observations"]}
    assert observed[("haemoglobin", "2026-05-15")] == pytest.approx(9.6687)  # 6 mmol/L
    assert observed[("platelets", "2026-01-10")] == 150 * 55 / 150
    assert observed[("spleen-volume", "2026-01-10")] == 15  # 2100 mL / (2 mL/kg x 70 kg)
    # the conventions behind mmol/L and mL are shown, and shown unverified
    assert any(note.startswith("haemoglobin: mmol/L converted with 16114.5 g/mol")
               and note.endswith("[unverified]") for note in result["notes"])
    assert any(note.startswith("spleen-volume: mL converted to multiples of a normal spleen of "
                               "140 mL at 70 kg") and note.endswith("[unverified]")
               for note in result["notes"])
    names = sorted(path.name for path in charts.iterdir())
    assert names == ["haemoglobin.png", "haemoglobin.svg", "platelets.png", "platelets.svg",
                     "spleen-volume.png", "spleen-volume.svg"]
    assert (charts / "platelets.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (charts / "platelets.svg").read_bytes()


def test_monitor_assess_reads_json_and_raises_no_response(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"observations": [
        {"date": "2026-01-10", "analyte": "hb", "value": 9.1, "unit": "g/dL"},
        {"date": "2026-08-01", "analyte": "hb", "value": 9.0, "unit": "g/dL"},
    ]}), encoding="utf-8")
    result = run_json(capsys, "monitor", "assess", "--observations", str(labs),
                      "--therapy-start", "2026-01-15", "--sex", "male", "--age", "40", *TODAY)
    assert [alert["code"] for alert in result["alerts"]] == ["no-response-6-months"]
    assert main(["monitor", "assess", "--observations", str(labs), "--therapy-start",
                 "2026-01-15", *TODAY]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "no-response-6-months" in out
    assert "not enough data" in out


@pytest.mark.parametrize(("content", "field"), [
    ("date,analyte,value,unit\n2026-01-10,ferritin,300,ng/mL\n", "analyte"),
    ("date,analyte,value,unit\n2026-01-10,haemoglobin,9,10^9/L\n", "unit"),
    ("date,analyte,value,unit\n2026-01-10,platelets,90,g/dL\n", "unit"),
    ("date,analyte,value,unit\n2030-01-10,haemoglobin,9,g/dL\n", "date"),
    ("date,analyte,value\n2026-01-10,haemoglobin,9\n", "observations"),
    ("", "observations"),
])
def test_monitor_assess_refuses_bad_observations(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path, content: str,
                                                 field: str) -> None:
    labs = tmp_path / "labs.csv"
    labs.write_text(content, encoding="utf-8")
    message = refused(capsys, "monitor", "assess", "--observations", str(labs),
                      "--therapy-start", "2026-01-15", *TODAY)
    assert field in message


def test_organ_volumes_in_ml_without_a_weight_are_refused(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    labs = tmp_path / "labs.csv"
    labs.write_text("date,analyte,value,unit\n2026-01-10,spleen,1400,mL\n", encoding="utf-8")
    assert "weight" in refused(capsys, "monitor", "assess", "--observations", str(labs),
                               "--therapy-start", "2026-01-15", *TODAY)


# ---- prepare --patient --------------------------------------------------------------------------


def test_prepare_merges_the_screening_alerts(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps({"gaucher_type": 1, "manifestations": [], "pregnant": True,
                                   "birth_date": "1990-01-01"}), encoding="utf-8")
    plan = run_json(capsys, "prepare", "--weight", "70kg", "--dose", "60U/kg", "--every", "2w",
                    "--prepared-at", "2026-12-07T08:30:00+01:00", "--patient", str(patient))
    codes = [alert["code"] for alert in plan["alerts"]]
    assert codes == ["indication-not-met", "pregnancy", "vial-size-unavailable"]  # by severity
    assert plan["screening"]["screened_on"] == "2026-12-07"
    assert plan["dose_units"] == 4200


def test_prepare_without_a_patient_loads_no_safety_or_science_module() -> None:
    code = (
        "import sys; from ertplan.cli.app import main; "
        "main(['prepare', '--weight', '70kg', '--dose', '60U/kg', '--every', '2w', '--json']); "
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy', 'matplotlib') "
        "or m in ('ertplan.core.patient', 'ertplan.core.safety', 'ertplan.core.monitoring', "
        "'ertplan.core.goals', 'ertplan.ics', 'ertplan.plots')]; "
        "print(sorted(heavy), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip() == "[]"
