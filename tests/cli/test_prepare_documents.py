"""``ertplan prepare --pdf/--label``: the worksheet and the bag label written to files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from ertplan.cli.app import main

BASE = ["prepare", "--weight", "70kg", "--dose", "60U/kg", "--every", "2w",
        "--prepared-at", "2026-12-07T08:30:00+01:00"]


def test_pdf_and_label_are_written_beside_the_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf, label = tmp_path / "worksheet.pdf", tmp_path / "bag.svg"
    assert main([*BASE, "--pdf", str(pdf), "--label", str(label), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["final_concentration_units_per_ml"] == 28
    reader = pypdf.PdfReader(io.BytesIO(pdf.read_bytes()))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for fact in ("Dose: 60 U/kg × 70 kg = 4,200 U per infusion", "Vials: 10 × 400 U + 1 × 200 U",
                 "final volume of 150 mL", "Final concentration: 28 U/mL",
                 "Rate: 75 mL/h over 120 min (0.5 U/kg/min)",
                 "Diluted bag: use by 2026-12-08 08:30 UTC+01:00", "vial-size-unavailable",
                 "[unverified]", "Preparation: not yet prepared (no barcode)",
                 "must be verified by a pharmacist"):
        assert fact in text, fact
    svg = label.read_text(encoding="utf-8")
    assert "Preparation: not yet prepared (no barcode)" in svg
    assert 'id="barcode"' not in svg  # nothing to scan before a preparation is recorded
    assert "In 150 mL 0.9% sodium chloride injection: 28 U/mL" in svg


def test_the_terminal_worksheet_is_still_printed_with_a_pdf(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--pdf", str(tmp_path / "sheet.pdf")]) == 0
    assert "preparation worksheet" in capsys.readouterr().out
    assert (tmp_path / "sheet.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("option", ["--pdf", "--label"])
@pytest.mark.parametrize("where", ["missing-folder/out", "."])
def test_a_file_that_cannot_be_written_is_refused_with_exit_2_and_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, where: str) -> None:
    target = tmp_path / where  # a folder that does not exist, or a folder itself
    assert main([*BASE, option, str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"ertplan: error: {option[2:]}: cannot write the file (")
    assert "Traceback" not in captured.err


def test_prepare_without_documents_loads_neither_them_nor_fpdf() -> None:
    code = (
        "import sys; from ertplan.cli.app import main; "
        "main(['prepare', '--weight', '70kg', '--dose', '60U/kg', '--every', '2w', '--json']); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('fpdf', 'pypdf', 'zxingcpp') "
        "or m.startswith(('ertplan.documents', 'ertplan.cli.documents_output'))]; "
        "print(sorted(loaded), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip() == "[]"


def test_help_names_both_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for example in ["--pdf worksheet.pdf", "--label bag.svg", "not yet prepared"]:
        assert example in help_text, example
