"""The bag label: what the nurse checks at the bedside, and a barcode a reader scans."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

import zxingcpp

from ertplan.core.monograph import Monograph
from ertplan.documents import WorksheetContext, bag_label_svg, parse_barcode_payload
from tests.documents.code128 import SVG, decode, raster, svg_modules
from tests.documents.conftest import plan_data


def label_text(svg: str) -> list[str]:
    """The label's lines of text, outside the barcode."""
    root = ElementTree.fromstring(svg.encode("utf-8"))
    return [element.text or "" for element in root.findall(f"{SVG}text")]


def test_the_70kg_label_carries_the_bags_facts(worked_example: dict[str, Any],
                                               imiglucerase: Monograph) -> None:
    svg = bag_label_svg(WorksheetContext(plan=worked_example, patient_name="Jane Doe",
                                         patient_identifier="MRN-0042", preparation_id=123,
                                         order_id=45, monograph=imiglucerase))
    text = " ".join(label_text(svg))
    for fact in ("imiglucerase (Cerezyme)", "Patient: Jane Doe (MRN-0042)",
                 "Dose: 4,200 U (60 U/kg × 70 kg)",
                 "In 150 mL 0.9% sodium chloride injection: 28 U/mL",  # 4200 U / 150 mL
                 "Rate: 75 mL/h over 120 min",  # 150 mL over 2 h
                 "Use by: 2026-12-08 08:30 UTC+01:00",  # 24 h at 2-8 °C from 08:30
                 "Preparation: 123 (barcode ERTPLAN-PREP-000123) · Order: 45",
                 "Verify patient, drug, dose, volume and use-by time against the order before "
                 "administration.", "must be verified by a pharmacist"):
        assert fact in text, fact


def test_the_labels_barcode_scans_as_its_preparation(worked_example: dict[str, Any],
                                                     imiglucerase: Monograph) -> None:
    svg = bag_label_svg(WorksheetContext(plan=worked_example, preparation_id=123,
                                         monograph=imiglucerase))
    modules, left, right = svg_modules(svg)
    assert decode(modules) == "ERTPLAN-PREP-000123"
    assert min(left, right) >= 10  # the quiet zones Code 128 requires
    found = zxingcpp.read_barcode(raster(modules, left))
    assert found is not None
    assert parse_barcode_payload(found.text) == 123
    root = ElementTree.fromstring(svg.encode("utf-8"))
    barcode = root.find(f"{SVG}svg[@id='barcode']")
    assert barcode is not None
    # it fits the 100 mm label with its margins
    assert float(barcode.get("x", "")) + float(barcode.get("width", "")) <= 100


def test_a_bag_not_yet_prepared_has_no_barcode(worked_example: dict[str, Any],
                                               imiglucerase: Monograph) -> None:
    svg = bag_label_svg(WorksheetContext(plan=worked_example, monograph=imiglucerase))
    assert 'id="barcode"' not in svg
    text = " ".join(label_text(svg))
    assert "Preparation: not yet prepared (no barcode)" in text
    assert "Patient: not recorded" in text


def test_room_storage_says_there_is_no_use_by_time(imiglucerase: Monograph) -> None:
    svg = bag_label_svg(WorksheetContext(plan=plan_data(imiglucerase, storage="room"),
                                         monograph=imiglucerase))
    assert ("Use by: no beyond-use time: the references give no stability for the diluted "
            "solution so stored") in " ".join(label_text(svg))


def test_a_dose_too_large_for_one_bag_is_labelled_no_bag(imiglucerase: Monograph) -> None:
    svg = bag_label_svg(WorksheetContext(plan=plan_data(imiglucerase, weight_kg=150),
                                         monograph=imiglucerase))
    text = " ".join(label_text(svg))
    assert "NO BAG" in text
    assert "Rate: — mL/h" in text


def test_names_are_escaped_and_the_label_is_deterministic(worked_example: dict[str, Any],
                                                          imiglucerase: Monograph) -> None:
    context = WorksheetContext(plan=worked_example, patient_name="O'Brien <Jr> & Co",
                               patient_identifier="MRN-1", monograph=imiglucerase)
    svg = bag_label_svg(context)
    assert "Patient: O'Brien <Jr> & Co (MRN-1)" in " ".join(label_text(svg))  # parsed back
    assert bag_label_svg(context) == svg
