"""The monograph data file: validated at load, every fact sourced, bad files named precisely."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from ertplan.core.errors import InputError, MonographError
from ertplan.core.monograph import (
    Monograph,
    available_drugs,
    load_monograph,
    monograph_path,
    validate_monograph,
)

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def raw_imiglucerase() -> dict[str, Any]:
    with monograph_path("imiglucerase").open("rb") as handle:
        return tomllib.load(handle)


def fact_tables(value: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every table of the file that states a fact (holds a value that is not a table)."""
    found = []
    if isinstance(value, dict):
        if where and any(not isinstance(item, dict | list) or (
                isinstance(item, list) and not all(isinstance(i, dict) for i in item))
                for item in value.values()):
            found.append((where, value))
        for key, item in value.items():
            if where == "" and key == "references":
                continue
            found += fact_tables(item, f"{where}.{key}".strip("."))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += fact_tables(item, f"{where}.{index}")
    return found


def test_every_fact_has_a_source_that_is_a_known_reference() -> None:
    data = raw_imiglucerase()
    tables = fact_tables(data)
    assert len(tables) > 40
    for where, table in tables:
        if where.startswith("dose_range.") and "source" not in table:
            continue  # the inline regimens take their parent's source
        assert table.get("source"), f"{where} has no source"
        for key in table["source"]:
            assert key in data["references"], f"{where} cites unknown reference {key}"


def test_the_shipped_monograph_carries_the_label_numbers(imiglucerase: Monograph) -> None:
    assert imiglucerase.vial_sizes_units == (200, 400)
    assert imiglucerase.product(200).sterile_water_ml == 5.1
    assert imiglucerase.product(400).sterile_water_ml == 10.2
    assert {p.concentration_units_per_ml for p in imiglucerase.products} == {40}
    assert (imiglucerase.dilution.final_volume_ml_min,
            imiglucerase.dilution.final_volume_ml_max) == (100, 200)
    assert (imiglucerase.administration.duration_min_lower,
            imiglucerase.administration.duration_min_upper) == (60, 120)
    assert imiglucerase.stability_hours("reconstituted", "room").hours == 12  # type: ignore[union-attr]
    assert imiglucerase.stability_hours("diluted", "refrigerated").hours == 24  # type: ignore[union-attr]
    assert imiglucerase.stability_hours("diluted", "room") is None
    assert imiglucerase.identity.cas_number == "154248-97-2"
    pk = imiglucerase.pharmacokinetics
    assert (pk.half_life_min_lower, pk.half_life_min_upper) == (3.6, 10.4)
    assert (pk.volume_of_distribution_l_per_kg_lower,
            pk.volume_of_distribution_l_per_kg_upper) == (0.09, 0.15)


def test_availability_facts_not_read_in_the_original_are_unverified(
        imiglucerase: Monograph) -> None:
    availability = [a for p in imiglucerase.products for a in p.availability]
    assert availability
    assert not any(a.verified for a in availability)
    assert imiglucerase.alerts["vial-size-unavailable"].verified is False


def test_the_numbers_are_those_of_the_reference_copy() -> None:
    text = (REFERENCE / "imiglucerase-monograph.txt").read_text(encoding="utf-8")
    if not text:
        pytest.fail("the shared reference copy is empty")
    for quoted in ["5.1 or 10.2 mL", "40 units of imiglucerase per mL", "100–200 mL",
                   "1–2 hours", "2.5 units/kg 3 times weekly to 60 units/kg every 2 weeks",
                   "up to 12 hours", "up to 24 hours", "3.6–10.4 minutes",
                   "0.09–0.15 L/kg", "0.2-µm", "154248-97-2"]:
        assert quoted in text


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["products"][0].update(vial_units="many"), "products.0.vial_units"),
    (lambda d: d["dilution"].pop("final_volume_ml_max"), "dilution.final_volume_ml_max"),
    (lambda d: d["dilution"].update(final_volume_mL_max=200), "dilution.final_volume_mL_max"),
    (lambda d: d["alerts"]["high-waste"].update(severity="loud"), "alerts.high-waste.severity"),
    (lambda d: d["dilution"].update(source=["nowhere"]), "dilution.source"),
    (lambda d: d["dose_range"]["lowest"].update(every_days=2), "dose_range.lowest"),
])
def test_a_malformed_file_fails_naming_the_field_path(change: Any, path: str) -> None:
    data = raw_imiglucerase()
    change(data)
    with pytest.raises(MonographError, match=path.replace(".", r"\.")):
        validate_monograph(data, "broken.toml")


def test_a_broken_file_is_refused_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("drug = [", encoding="utf-8")
    with pytest.raises(MonographError, match=r"broken\.toml: not valid TOML"):
        load_monograph(broken)
    with pytest.raises(MonographError, match="no such monograph file"):
        load_monograph(tmp_path / "missing.toml")


def test_drug_names_cannot_reach_outside_the_monograph_folder() -> None:
    with pytest.raises(InputError, match="drug"):
        monograph_path("../../etc/passwd")
    assert available_drugs() == ("imiglucerase",)


def test_monograph_data_cannot_be_changed_once_loaded(imiglucerase: Monograph) -> None:
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        imiglucerase.dilution.final_volume_ml_max = 500
    with pytest.raises(FrozenInstanceError):
        del imiglucerase.products[0].vial_units
    with pytest.raises(FrozenInstanceError):
        imiglucerase.drug = "other"


def test_a_schema_object_reads_back_in_its_repr(imiglucerase: Monograph) -> None:
    shown = repr(imiglucerase.dilution)
    assert shown.startswith("Dilution(")
    assert "final_volume_ml_max=200" in shown


def test_a_required_fact_missing_from_the_file_is_still_refused() -> None:
    data = raw_imiglucerase()
    del data["products"][0]["sterile_water_ml"]
    with pytest.raises(MonographError, match=r"products\.0\.sterile_water_ml"):
        validate_monograph(data, "broken.toml")
