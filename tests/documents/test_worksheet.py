"""The worksheet: the plan's facts as lines, and a PDF that shows those lines."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pypdf
import pytest

from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.documents import VialLot, WorksheetContext, worksheet_pdf, worksheet_text
from tests.documents.conftest import plan_data

GENERATED_AT = datetime(2026, 12, 7, 8, 0, tzinfo=timezone(timedelta(hours=1)))
LOTS = (VialLot(400, 10, "A1234", date(2027, 5, 31)), VialLot(200, 1, "B77", date(2027, 1, 15)))


def context(plan: dict[str, Any], monograph: Monograph | None, **given: Any) -> WorksheetContext:
    facts: dict[str, Any] = {
        "patient_name": "Jane Doe", "patient_identifier": "MRN-0042", "preparation_id": 123,
        "order_id": 45, "lots": LOTS, "prepared_by": "A. Preparer", "verified_by": "B. Checker",
        "generated_at": GENERATED_AT}
    return WorksheetContext(plan=plan, monograph=monograph, **(facts | given))


def pdf_text(pdf: bytes) -> str:
    """Every page's text with runs of white space made one space (the PDF wraps long lines)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    # a line wrapped across pages has the footer in between
    return re.sub(r" ?ertplan preparation worksheet · [^·]+ · page \d+ of \d+", "", text)


def test_the_70kg_worksheet_prints_the_hand_checked_numbers(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    lines = worksheet_text(context(worked_example, imiglucerase))
    # 70 kg × 60 U/kg = 4200 U; ten 400 U vials and one 200 U vial, nothing wasted
    assert "Weight: 70 kg" in lines
    assert "Dose: 60 U/kg × 70 kg = 4,200 U per infusion" in lines
    assert "Vials: 10 × 400 U + 1 × 200 U" in lines
    assert "Opened 4,200 U; waste 0 U (0% of the units opened)" in lines
    # 10.2 mL of water per 400 U vial and 5.1 mL per 200 U vial give 40 U/mL
    assert "Reconstitution with sterile water for injection" in lines
    assert "400 U vials × 10: add 10.2 mL to each (40 U/mL)" in lines
    assert "200 U vials × 1: add 5.1 mL to each (40 U/mL)" in lines
    # 4200 U / 40 U/mL = 105 mL, into the 150 mL step: 45 mL of saline; 4200 U / 150 mL = 28 U/mL
    assert "Withdraw: 105 mL of reconstituted solution (40 U/mL)" in lines
    assert ("Dilute: add 45 mL 0.9% sodium chloride injection to a final volume of 150 mL "
            "(label: 100–200 mL)") in lines
    assert "Final concentration: 28 U/mL" in lines
    # 150 mL over the default 120 min is 75 mL/h; 60 U/kg over 120 min is 0.5 U/kg/min
    assert "Rate: 75 mL/h over 120 min (0.5 U/kg/min)" in lines
    assert any(line.startswith("Filter: May be administered") and "0.2-µm" in line
               for line in lines)
    # 12 h and 24 h from reconstitution at 08:30 +01:00
    assert "Reconstituted vials: use by 2026-12-07 20:30 UTC+01:00" in lines
    assert "Diluted bag: use by 2026-12-08 08:30 UTC+01:00" in lines
    assert "Patient: Jane Doe (MRN-0042)" in lines
    assert "Preparation: 123 (barcode ERTPLAN-PREP-000123) · Order: 45" in lines
    assert "Generated: 2026-12-07 08:00 UTC+01:00" in lines
    assert "400 U vials × 10: lot A1234, expiry 2027-05-31" in lines
    assert "200 U vials × 1: lot B77, expiry 2027-01-15" in lines
    assert not any(line.startswith("The lots hold") for line in lines)  # they match the plan


def test_every_alert_is_printed_with_its_severity_code_message_and_source(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    lines = worksheet_text(context(worked_example, imiglucerase))
    alerts = worked_example["alerts"]
    assert [alert["code"] for alert in alerts] == ["vial-size-unavailable"]
    for alert in alerts:
        assert f"{alert['severity'].upper()} {alert['code']}: {alert['message']}" in lines
        marked = "" if alert["verified"] else " [unverified]"
        assert f"Source: {alert['source']}{marked}" in lines
    assert not alerts[0]["verified"]  # the 200 U vial's availability is an unchecked fact
    assert any(line.endswith("[unverified]") for line in lines)


def test_the_sheet_says_it_must_be_verified_and_has_two_signature_lines(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    lines = worksheet_text(context(worked_example, imiglucerase))
    note = "Decision support only: this plan must be verified by a pharmacist before preparation."
    assert lines[1] == note == worked_example["verification_note"]
    assert lines[-1] == note
    assert [line.split("   ")[0] for line in lines if "signature ___" in line] == [
        "Prepared by: A. Preparer", "Verified by (pharmacist): B. Checker"]
    blank = worksheet_text(WorksheetContext(plan=worked_example, monograph=imiglucerase))
    assert [line.split("   ")[0] for line in blank if "signature ___" in line] == [
        "Prepared by: ________________", "Verified by (pharmacist): ________________"]


def test_the_pdf_shows_every_line_and_the_hand_checked_numbers(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    sheet = context(worked_example, imiglucerase)
    pdf = worksheet_pdf(sheet)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for line in worksheet_text(sheet):
        assert " ".join(line.split()) in text
    for fact in ("70 kg", "60 U/kg", "4,200 U", "10 × 400 U + 1 × 200 U", "105 mL", "45 mL",
                 "150 mL", "28 U/mL", "75 mL/h", "0.5 U/kg/min", "0.2-µm", "2-8 °C",
                 "2026-12-08 08:30", "[unverified]", "ERTPLAN-PREP-000123"):
        assert fact in text, fact


def test_the_same_context_gives_the_same_bytes(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    sheet = context(worked_example, imiglucerase)
    assert worksheet_pdf(sheet) == worksheet_pdf(sheet)
    unstamped = context(worked_example, imiglucerase, generated_at=None)
    assert worksheet_pdf(unstamped) == worksheet_pdf(unstamped)
    assert worksheet_pdf(unstamped) != worksheet_pdf(sheet)


def test_the_pdf_is_stamped_with_generated_at_never_the_clock(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    stamped = pypdf.PdfReader(io.BytesIO(worksheet_pdf(context(worked_example, imiglucerase))))
    assert stamped.metadata is not None
    assert stamped.metadata.creation_date == GENERATED_AT
    unstamped = pypdf.PdfReader(io.BytesIO(worksheet_pdf(
        context(worked_example, imiglucerase, generated_at=None))))
    assert unstamped.metadata is not None
    assert unstamped.metadata.creation_date is not None
    assert unstamped.metadata.creation_date.year == 2000  # the fixed date, not today


def test_a_plan_read_back_from_json_prints_the_same(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    stored = json.loads(json.dumps(worked_example))  # as a database or the API hands it back
    assert worksheet_text(context(stored, imiglucerase)) == worksheet_text(
        context(worked_example, imiglucerase))


def test_the_monograph_is_loaded_by_the_plans_drug_when_not_given(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    assert worksheet_text(context(worked_example, None)) == worksheet_text(
        context(worked_example, imiglucerase))


def test_room_storage_says_the_references_give_no_bag_stability(
        imiglucerase: Monograph) -> None:
    plan = plan_data(imiglucerase, storage="room")
    lines = worksheet_text(context(plan, imiglucerase))
    assert ("Diluted bag: no beyond-use time: the references give no stability for the diluted "
            "solution so stored") in lines
    assert any(line.startswith("WARNING no-stability-data: ") for line in lines)
    assert "Reconstituted vials: use by 2026-12-07 20:30 UTC+01:00" in lines


def test_150kg_says_no_bag_and_no_rate(imiglucerase: Monograph) -> None:
    plan = plan_data(imiglucerase, weight_kg=150)  # 9000 U = 225 mL, over the 200 mL maximum
    lines = worksheet_text(context(plan, imiglucerase))
    assert ("Dilute: NO BAG: the dose alone exceeds the 200 mL maximum (2 bags would be needed; "
            "see alerts)") in lines
    assert "Rate: no rate (no bag) over 120 min (0.5 U/kg/min)" in lines
    assert "Diluted bag: no beyond-use time: no bag is planned (see alerts)" in lines
    assert any(line.startswith("CRITICAL volume-exceeds-max: ") for line in lines)
    assert not any(line.startswith("Final concentration") for line in lines)
    assert "NO BAG" in pdf_text(worksheet_pdf(context(plan, imiglucerase)))


def test_nothing_recorded_is_said_as_such(worked_example: dict[str, Any],
                                          imiglucerase: Monograph) -> None:
    lines = worksheet_text(WorksheetContext(plan=worked_example, monograph=imiglucerase))
    assert "Patient: not recorded" in lines
    assert "Preparation: not yet prepared (no barcode)" in lines
    assert any(line.startswith("Lots: not recorded") for line in lines)
    assert not any(line.startswith("Generated:") for line in lines)
    assert "not yet prepared" in pdf_text(worksheet_pdf(
        WorksheetContext(plan=worked_example, monograph=imiglucerase)))


def test_lots_that_differ_from_the_plans_vials_are_shown_side_by_side(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    lines = worksheet_text(context(worked_example, imiglucerase, lots=LOTS[:1]))
    assert ("The lots hold 10 × 400 U; the plan's vials are 10 × 400 U + 1 × 200 U."
            in lines)


def test_a_plan_stored_before_the_final_concentration_says_it_has_none(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    older = {key: value for key, value in worked_example.items()
             if key != "final_concentration_units_per_ml"}
    lines = worksheet_text(context(older, imiglucerase))
    assert "Final concentration: not in this plan (made before ertplan gave it)" in lines


@pytest.mark.parametrize(("change", "message"), [
    (lambda plan: plan.pop("dose_units"), "plan: has no field dose_units"),
    (lambda plan: plan["infusion"].pop("rate_ml_per_h"),
     "plan: has no field infusion.rate_ml_per_h"),
    (lambda plan: plan["beyond_use"].update(diluted_until="tomorrow"), "plan: holds a date-time"),
    (lambda plan: plan.update(drug="aspirin"), "drug: no monograph of that name"),
])
def test_a_plan_that_is_not_a_plan_is_refused_in_one_line(
        worked_example: dict[str, Any], change: Any, message: str) -> None:
    plan = json.loads(json.dumps(worked_example))
    change(plan)
    with pytest.raises(InputError, match=f"^{re.escape(message)}"):
        worksheet_pdf(WorksheetContext(plan=plan))


def test_a_name_the_font_cannot_print_is_refused_not_left_out(
        worked_example: dict[str, Any], imiglucerase: Monograph) -> None:
    # fpdf2 would silently drop the glyphs DejaVu Sans lacks: the name would print incomplete
    with pytest.raises(InputError, match=r"^patient_name: .*\(U\+5C71 U\+7530\)"):
        worksheet_pdf(context(worked_example, imiglucerase, patient_name="山田"))
    with pytest.raises(InputError, match=r"^lots\[1\]\.lot: "):
        worksheet_pdf(context(worked_example, imiglucerase,
                              lots=(LOTS[0], VialLot(200, 1, "ロット7", date(2027, 1, 15)))))
    text = pdf_text(worksheet_pdf(context(worked_example, imiglucerase,
                                          patient_name="Zoë Łukasz-Ødegård")))
    assert "Patient: Zoë Łukasz-Ødegård (MRN-0042)" in text


def test_the_documents_public_surface_is_exactly_this() -> None:
    # the web UI codes against these names: they do not drift by accident
    import ertplan.documents

    assert sorted(ertplan.documents.__all__) == [
        "VialLot", "WorksheetContext", "bag_label_svg", "barcode_payload", "code128_svg",
        "parse_barcode_payload", "worksheet_pdf", "worksheet_text"]
    assert [field.name for field in dataclasses.fields(WorksheetContext)][:9] == [
        "plan", "patient_name", "patient_identifier", "preparation_id", "order_id", "lots",
        "prepared_by", "verified_by", "generated_at"]
    assert [field.name for field in dataclasses.fields(VialLot)] == [
        "vial_units", "count", "lot", "expiry_date"]
