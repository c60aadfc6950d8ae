"""ertplan's functional core: pure, typed functions over the monograph data. No I/O but reading
packaged data files, no clock, no printing; the shells (CLI, service) call these.

Names are loaded on first use (PEP 562), so that a command imports only the modules it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Alert": "alerts",
    "make_alert": "alerts",
    "Frequency": "dosing",
    "every": "dosing",
    "exposure_range_per_kg": "dosing",
    "times_per_week": "dosing",
    "ConflictError": "errors",
    "ErtplanError": "errors",
    "InputError": "errors",
    "MonographError": "errors",
    "PreparationInputs": "inputs",
    "order_from_inputs": "inputs",
    "Monograph": "monograph",
    "available_drugs": "monograph",
    "load_monograph": "monograph",
    "monograph_path": "monograph",
    "VERIFICATION_NOTE": "preparation",
    "Order": "preparation",
    "PreparationPlan": "preparation",
    "plan_preparation": "preparation",
    "whole_vial_alternatives": "preparation",
    "to_data": "serialize",
    "Infusion": "pk",
    "PkRequest": "pk",
    "PkSummary": "pk",
    "plasma_activity_units_per_l": "pk",
    "simulate_infusion": "pk",
    "PopulationRequest": "population",
    "PopulationSummary": "population",
    "WeightDistribution": "population",
    "simulate_population": "population",
    "parse_quantity": "units",
    "VialCombination": "vials",
    "VialCount": "vials",
    "cover_dose": "vials",
    "largest_below": "vials",
}

__all__ = [
    "VERIFICATION_NOTE",
    "Alert",
    "ConflictError",
    "ErtplanError",
    "Frequency",
    "Infusion",
    "InputError",
    "Monograph",
    "MonographError",
    "Order",
    "PkRequest",
    "PkSummary",
    "PopulationRequest",
    "PopulationSummary",
    "PreparationInputs",
    "PreparationPlan",
    "VialCombination",
    "VialCount",
    "WeightDistribution",
    "available_drugs",
    "cover_dose",
    "every",
    "exposure_range_per_kg",
    "largest_below",
    "load_monograph",
    "make_alert",
    "monograph_path",
    "order_from_inputs",
    "parse_quantity",
    "plan_preparation",
    "plasma_activity_units_per_l",
    "simulate_infusion",
    "simulate_population",
    "times_per_week",
    "to_data",
    "whole_vial_alternatives",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ertplan.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ertplan.core.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from ertplan.core.alerts import Alert, make_alert
    from ertplan.core.dosing import Frequency, every, exposure_range_per_kg, times_per_week
    from ertplan.core.errors import ConflictError, ErtplanError, InputError, MonographError
    from ertplan.core.inputs import PreparationInputs, order_from_inputs
    from ertplan.core.monograph import Monograph, available_drugs, load_monograph, monograph_path
    from ertplan.core.pk import (
        Infusion,
        PkRequest,
        PkSummary,
        plasma_activity_units_per_l,
        simulate_infusion,
    )
    from ertplan.core.population import (
        PopulationRequest,
        PopulationSummary,
        WeightDistribution,
        simulate_population,
    )
    from ertplan.core.preparation import (
        VERIFICATION_NOTE,
        Order,
        PreparationPlan,
        plan_preparation,
        whole_vial_alternatives,
    )
    from ertplan.core.serialize import to_data
    from ertplan.core.units import parse_quantity
    from ertplan.core.vials import VialCombination, VialCount, cover_dose, largest_below
