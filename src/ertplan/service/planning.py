"""The service's calls into the core: the same functions as ``ertplan prepare``, nothing recomputed.

Monographs are validated once per process; unit spellings are memoised like the CLI's cache.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.preparation import PreparationPlan
from ertplan.core.units import UnitFact

if TYPE_CHECKING:  # the calendar and PK cores (and NumPy) load only when those endpoints run
    from ertplan.core.calendar import TreatmentCalendar
    from ertplan.core.goals import Goals
    from ertplan.core.inputs import PreparationInputs
    from ertplan.core.pk import PkSummary
    from ertplan.core.preparation import Order as CoreOrder
    from ertplan.core.safety import ReactionAssessment

# spellings people type are few; a bound keeps odd input from growing the memo without end
_UNIT_MEMO_LIMIT = 1024
# alerts that keep an order from being verified without an override reason
OVERRIDE_SEVERITIES = ("critical", "warning")


class Planner:
    """Plans with the packaged monographs; shared by every request of one application."""

    def __init__(self, *, default_vial_sizes: str | None = None) -> None:
        self.default_vial_sizes = default_vial_sizes
        self._monographs: dict[str, Monograph] = {}
        self._units: dict[str, UnitFact] = {}
        self._goals: Goals | None = None
        self._lock = threading.Lock()

    def monograph(self, drug: str) -> Monograph:
        """The validated monograph of `drug`; an unknown drug is an InputError on ``drug``."""
        found = self._monographs.get(drug)
        if found is not None:
            return found
        from ertplan.core.monograph import available_drugs, load_monograph, monograph_path

        known = available_drugs()
        if drug not in known:
            raise InputError("drug", f"no monograph of that name (known: {', '.join(known)})",
                             drug)
        with self._lock:
            found = self._monographs.get(drug) or load_monograph(monograph_path(drug))
            self._monographs[drug] = found
        return found

    def goals(self) -> Goals:
        """The therapeutic goals screening uses (as ``ertplan screen``: Gaucher type 1), loaded
        once."""
        if self._goals is None:
            from ertplan.core.goals import goals_path, load_goals

            with self._lock:
                self._goals = self._goals or load_goals(goals_path("gaucher-type1"))
        return self._goals

    def unit_table(self) -> dict[str, UnitFact]:
        """The shared memo of unit spellings, or a throw-away one once it is full."""
        return self._units if len(self._units) < _UNIT_MEMO_LIMIT else dict(self._units)

    def weight_kg(self, text: str, field: str = "weight") -> float:
        """A body weight as typed (``70 kg``, ``154 lb``) in kg, parsed by the core."""
        from ertplan.core.units import MASS, parse_quantity

        weight: float = parse_quantity(text, MASS, field, self.unit_table())
        return weight

    def plan_from_text(self, fields: dict[str, Any], *, now: datetime) -> PreparationPlan:
        """``ertplan prepare`` from its text inputs (`fields` as the request gave them)."""
        from ertplan.core.preparation import plan_preparation

        fields = dict(fields)
        monograph = self.monograph(fields.pop("drug", "imiglucerase"))
        return plan_preparation(self.order_from_text(fields, now=now), monograph)

    def order_from_text(self, fields: dict[str, Any], *, now: datetime) -> CoreOrder:
        """The core order of ``ertplan prepare``'s text inputs (no ``drug``), each field parsed
        by the core (one-line InputError naming the field)."""
        from ertplan.core.inputs import PreparationInputs, order_from_inputs

        fields = dict(fields)
        if fields.get("vial_sizes") is None:
            fields["vial_sizes"] = self.default_vial_sizes
        return order_from_inputs(PreparationInputs(**fields), now=now, table=self.unit_table())

    def plan_from_inputs(self, inputs: PreparationInputs, *, drug: str,
                         now: datetime) -> PreparationPlan:
        """The core plan of already assembled text inputs (a CDS Hooks order's)."""
        from ertplan.core.inputs import order_from_inputs
        from ertplan.core.preparation import plan_preparation

        order = order_from_inputs(inputs, now=now, table=self.unit_table())
        return plan_preparation(order, self.monograph(drug))

    def calendar_from_text(self, fields: dict[str, Any], *, now: datetime) -> TreatmentCalendar:
        """``ertplan calendar`` from its text inputs; a missing start is `now`'s date."""
        from ertplan.core.calendar import CalendarInputs, calendar_order_from_inputs, plan_calendar

        fields = dict(fields)
        monograph = self.monograph(fields.pop("drug", "imiglucerase"))
        if fields.get("start") is None:
            fields["start"] = now.date().isoformat()
        if fields.get("vial_sizes") is None:
            fields["vial_sizes"] = self.default_vial_sizes
        fields["skip"] = tuple(fields.get("skip") or ())
        fields["weight_on"] = tuple(fields.get("weight_on") or ())
        inputs = CalendarInputs(**fields)
        order = calendar_order_from_inputs(inputs, monograph, self.unit_table())
        return plan_calendar(order, monograph)

    def pk_from_text(self, fields: dict[str, Any]) -> PkSummary:
        """``ertplan pk`` (one patient) from its text inputs."""
        from ertplan.core.pk import simulate_infusion
        from ertplan.core.pk_inputs import PkInputs, pk_request_from_inputs

        fields = dict(fields)
        monograph = self.monograph(fields.pop("drug", "imiglucerase"))
        request = pk_request_from_inputs(PkInputs(**fields), self.unit_table())
        return simulate_infusion(request, monograph)

    def plan_for_order(self, *, drug: str, weight_kg: float, dose_units_per_kg: float,
                       interval_days: float, duration_min: float | None,
                       prepared_at: datetime, diluted_at: datetime | None = None,
                       storage: str = "refrigerated",
                       vial_sizes_units: Sequence[int] | None = None) -> PreparationPlan:
        """The core plan of a stored order for a patient of `weight_kg`."""
        from ertplan.core.preparation import plan_preparation

        order = self._core_order(
            weight_kg=weight_kg, dose_units_per_kg=dose_units_per_kg,
            interval_days=interval_days, duration_min=duration_min, prepared_at=prepared_at,
            diluted_at=diluted_at, storage=storage, vial_sizes_units=vial_sizes_units)
        return plan_preparation(order, self.monograph(drug))

    def reaction_for_order(self, signs: Sequence[str], *, drug: str, weight_kg: float,
                           dose_units_per_kg: float, interval_days: float,
                           duration_min: float | None, final_volume_ml: float | None,
                           prepared_at: datetime, onset_min: float | None,
                           age_years: float | None,
                           vial_sizes_units: Sequence[int] | None = None) -> ReactionAssessment:
        """``ertplan reaction`` for a stored order's infusion: the grade of the `signs`, the
        monograph's handling and the next infusion, slower, with premedication."""
        from ertplan.core.safety import assess_reaction

        order = self._core_order(
            weight_kg=weight_kg, dose_units_per_kg=dose_units_per_kg,
            interval_days=interval_days, duration_min=duration_min, prepared_at=prepared_at,
            vial_sizes_units=vial_sizes_units, final_volume_ml=final_volume_ml)
        return assess_reaction(signs, order, self.monograph(drug), onset_min=onset_min,
                               age_years=age_years)

    def _core_order(self, *, weight_kg: float, dose_units_per_kg: float, interval_days: float,
                    duration_min: float | None, prepared_at: datetime,
                    diluted_at: datetime | None = None, storage: str = "refrigerated",
                    vial_sizes_units: Sequence[int] | None = None,
                    final_volume_ml: float | None = None) -> CoreOrder:
        from ertplan.core.dosing import every
        from ertplan.core.inputs import parse_vial_sizes
        from ertplan.core.preparation import Order

        sizes = tuple(sorted(set(vial_sizes_units))) if vial_sizes_units else (
            None if self.default_vial_sizes is None
            else parse_vial_sizes(self.default_vial_sizes))
        return Order(
            weight_kg=weight_kg, dose_units_per_kg=dose_units_per_kg,
            frequency=every(interval_days), prepared_at=prepared_at, duration_min=duration_min,
            diluted_at=diluted_at, storage=storage,  # type: ignore[arg-type]  # Literal checked
            vial_sizes_units=sizes, final_volume_ml=final_volume_ml)


def override_required_by(plan: PreparationPlan) -> list[str]:
    """Codes of the plan's alerts that need an override reason to verify the order.

    Every alert of the labelled range (dose, interval, 4-week exposure, duration, weight) is a
    warning in the monograph data, and the critical ones stop a bag being made: both need a
    pharmacist's stated reason. Info alerts (waste, vial availability) do not.
    """
    return [alert.code for alert in plan.alerts if alert.severity in OVERRIDE_SEVERITIES]
