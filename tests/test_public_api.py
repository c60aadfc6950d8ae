"""The core's public surface does not drift by accident."""

from __future__ import annotations

import ertplan.core


def test_core_exports_are_exactly_these() -> None:
    assert sorted(ertplan.core.__all__) == sorted([
        "Alert", "ConflictError", "ErtplanError", "Frequency", "InputError", "Monograph",
        "MonographError", "Order", "PreparationInputs", "PreparationPlan", "VERIFICATION_NOTE",
        "VialCombination", "VialCount", "available_drugs", "cover_dose", "every",
        "exposure_range_per_kg", "largest_below", "load_monograph", "make_alert",
        "monograph_path", "order_from_inputs", "parse_quantity", "plan_preparation",
        "times_per_week", "to_data", "whole_vial_alternatives",
        # pharmacokinetics (ertplan pk)
        "Infusion", "PkRequest", "PkSummary", "PopulationRequest", "PopulationSummary",
        "WeightDistribution", "plasma_activity_units_per_l", "simulate_infusion",
        "simulate_population",
    ])
    for name in ertplan.core.__all__:
        assert getattr(ertplan.core, name) is not None


def test_the_core_imports_no_shell() -> None:
    import ast
    from pathlib import Path

    core = Path(ertplan.core.__file__).parent
    for module in core.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("ertplan.cli", "ertplan.service",
                                                   "ertplan.store", "ertplan.web",
                                                   "ertplan.interop", "ertplan.cache")), module.name


def test_every_export_is_listed_once() -> None:
    from ertplan.core import _EXPORTS

    assert sorted(_EXPORTS) == sorted(ertplan.core.__all__)
