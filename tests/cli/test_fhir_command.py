"""``ertplan fhir export`` and ``ertplan fhir import``: a Bundle file out of one store, into
another."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.interop.test_fhir_store import (
    FIXTURES,
    _patient_with_three_infusions,
    _records,
    _store_counts,
)
from tests.service.conftest import NOW, SITE_PATIENT_SYSTEM, Clinic

from ertplan.cli.app import main
from ertplan.store import repositories as repo
from ertplan.store.db import make_engine, session_factory, sqlite_url, transaction


@pytest.fixture(autouse=True)
def _site_patient_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command reads the clinic's identifier system from the environment, as the service."""
    monkeypatch.setenv("ERTPLAN_FHIR_PATIENT_SYSTEM", SITE_PATIENT_SYSTEM)


@pytest.fixture
def new_sqlite_store(migrated_sqlite_template: Path, tmp_path: Path,
                     password_hash: str) -> str:
    """An empty store (SQLite) where the clinic's people hold accounts."""
    path = tmp_path / "new-store.sqlite3"
    shutil.copyfile(migrated_sqlite_template, path)
    engine = make_engine(sqlite_url(path))
    with transaction(session_factory(engine)) as session:
        for name, role in (("physician", "physician"), ("pharmacist", "pharmacist"),
                           ("pharmacist-2", "pharmacist"), ("nurse", "nurse")):
            repo.add_user(session, actor=None, username=name, role=role,
                          password_hash=password_hash, now=NOW)
    engine.dispose()
    return sqlite_url(path)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_patient_exported_to_a_file_is_imported_into_a_new_store_with_nothing_lost(
        clinic: Clinic, new_sqlite_store: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    patient_id = _patient_with_three_infusions(clinic)
    bundle_file = tmp_path / "patient.json"
    assert main(["fhir", "export", str(patient_id), "--database-url", _url(clinic.engine),
                 "--output", str(bundle_file)]) == 0
    assert "wrote 18 resources" in capsys.readouterr().err
    assert json.loads(bundle_file.read_text())["type"] == "collection"
    assert main(["fhir", "import", str(bundle_file), "--database-url", new_sqlite_store]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["imported"] == {"patients": 1, "weights": 2, "observations": 7, "orders": 1,
                                  "preparations": 3, "administrations": 3, "reactions": 1}
    new_store = make_engine(new_sqlite_store)
    try:
        assert _records(new_store, "MRN-0001") == _records(clinic.engine, "MRN-0001")
    finally:
        new_store.dispose()


def test_the_export_goes_to_standard_output_without_output(
        clinic: Clinic, capsys: pytest.CaptureFixture[str]) -> None:
    patient_id = _patient_with_three_infusions(clinic)
    assert main(["fhir", "export", str(patient_id), "--database-url",
                 _url(clinic.engine)]) == 0
    assert json.loads(capsys.readouterr().out)["resourceType"] == "Bundle"


def test_a_lab_bundle_import_prints_conversions_and_unknown_codes(
        clinic: Clinic, capsys: pytest.CaptureFixture[str]) -> None:
    _patient_with_three_infusions(clinic)
    assert main(["fhir", "import", str(FIXTURES / "fhir-lab-results.json"),
                 "--database-url", _url(clinic.engine)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["patient"]["created"] is False
    assert report["unknown_codes"][0]["codes"] == ["http://loinc.org|2345-7"]
    assert {"entry": 2, "resource": "Observation/hb", "given": "118 g/L",
            "stored": "11.8 g/dL"} in report["conversions"]


def _bad_bundle(tmp_path: Path) -> Path:
    bundle = json.loads((FIXTURES / "fhir-lab-results.json").read_text())
    bundle["entry"][3]["resource"]["valueQuantity"]["code"] = "kg"  # platelets in kg
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle))
    return path


def test_a_bundle_with_one_bad_resource_exits_2_naming_it_and_writes_nothing(
        clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _patient_with_three_infusions(clinic)
    before = _store_counts(clinic.engine)
    assert main(["fhir", "import", str(_bad_bundle(tmp_path)),
                 "--database-url", _url(clinic.engine)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ertplan: error: entry[3].resource.valueQuantity.unit: "
                          "Observation/platelets: does not fit platelets")
    assert err.count("\n") == 1
    assert _store_counts(clinic.engine) == before


@pytest.mark.parametrize(("args", "message"), [
    (["fhir", "export", "99"], "patient-id: "),
    (["fhir", "export", "0"], "patient-id: must be a stored patient's id"),
    (["fhir", "import", "missing.json"], "bundle: cannot be read"),
    (["fhir", "import", "not-json.json"], "bundle: is not JSON"),
    (["fhir", "import", "array.json"], "bundle.resourceType: must be Bundle"),
])
def test_bad_input_exits_2_with_one_line(
        args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-json.json").write_text("{'resourceType': 'Bundle'")
    (tmp_path / "array.json").write_text("[]")
    url = sqlite_url(tmp_path / "clinic.sqlite3")
    assert main([*args, "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ertplan: error: {message}")
    assert err.count("\n") == 1
