"""The lines of the worksheet and of the bag label, from the core's plan as data.

Every number printed here is one the core planned (``PreparationPlan``); this module only formats
them, and says where the plan has none (no bag, no stability data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ertplan.core.errors import InputError
from ertplan.documents.barcode import barcode_payload
from ertplan.documents.context import WorksheetContext
from ertplan.formatting import number

if TYPE_CHECKING:
    from ertplan.core.monograph import Monograph

Style = Literal["title", "heading", "text", "detail", "strong"]
UNVERIFIED = " [unverified]"
NOT_RECORDED = "not recorded"
BLANK = "_" * 16  # room to write by hand
LABEL_NOTE = ("Verify patient, drug, dose, volume and use-by time against the order before "
              "administration.")


@dataclass(frozen=True)
class Line:
    """One printed line (a PDF may wrap it) and how it is set."""

    style: Style
    text: str


def moment(value: datetime | str | None) -> str:
    """A date-time (or its ISO text, as plans stored as JSON hold it) as a pharmacist reads it.

    >>> moment("2026-12-08T08:30:00+01:00")
    '2026-12-08 08:30 UTC+01:00'
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InputError("plan", "holds a date-time that is not ISO 8601", value) from None
    return value.strftime("%Y-%m-%d %H:%M %Z").strip()


def field(data: Any, key: str, where: str = "") -> Any:
    """``data[key]``, or a one-line refusal naming the missing plan field."""
    if not isinstance(data, Mapping) or key not in data:
        raise InputError("plan", f"has no field {where}{key} (expected the data of a "
                         "PreparationPlan, as ertplan prepare --json prints it)")
    return data[key]


def vial_list(vials: list[Mapping[str, Any]]) -> str:
    """``10 × 400 U + 1 × 200 U`` from ``[{units, count}]``."""
    return " + ".join(f"{field(vial, 'count', 'vials[].')} × "
                      f"{number(field(vial, 'units', 'vials[].'))} U" for vial in vials)


def monograph_of(context: WorksheetContext) -> Monograph:
    """The monograph the plan was made with: the context's, else loaded by the plan's drug."""
    if context.monograph is not None:
        return context.monograph
    from ertplan.cache import cached_monograph

    return cached_monograph(str(field(context.plan, "drug")))


def drug_title(monograph: Monograph) -> str:
    """``imiglucerase (Cerezyme)``."""
    brands = monograph.identity.brand_names
    return monograph.identity.generic_name + (f" ({brands[0]})" if brands else "")


def patient_text(context: WorksheetContext) -> str:
    """The patient's name and identifier as given, or that none was recorded."""
    if context.patient_name is None and context.patient_identifier is None:
        return NOT_RECORDED
    if context.patient_identifier is None:
        return f"{context.patient_name} (no identifier recorded)"
    if context.patient_name is None:
        return f"identifier {context.patient_identifier} (no name recorded)"
    return f"{context.patient_name} ({context.patient_identifier})"


def preparation_text(context: WorksheetContext) -> str:
    """The preparation (and order) ids, with the barcode's text, or that it is not yet prepared."""
    if context.preparation_id is None:
        text = "Preparation: not yet prepared (no barcode)"
    else:
        text = (f"Preparation: {context.preparation_id} "
                f"(barcode {barcode_payload(context.preparation_id)})")
    return text if context.order_id is None else f"{text} · Order: {context.order_id}"


def _marked(text: str, verified: bool) -> str:
    return text if verified else text + UNVERIFIED


def worksheet_lines(context: WorksheetContext) -> list[Line]:
    """The worksheet of `context`, line by line, with how each line is set."""
    plan = context.plan
    monograph = monograph_of(context)
    infusion = field(plan, "infusion")
    beyond_use = field(plan, "beyond_use")
    weight = number(field(plan, "weight_kg"))
    lines = [
        Line("title", f"{drug_title(monograph)} — preparation worksheet"),
        Line("strong", str(field(plan, "verification_note"))),
        Line("text", f"Patient: {patient_text(context)}"),
        Line("text", preparation_text(context)),
    ]
    if context.generated_at is not None:
        lines.append(Line("detail", f"Generated: {moment(context.generated_at)}"))

    lines += [
        Line("heading", "Order"),
        Line("text", f"Weight: {weight} kg"),
        Line("text", f"Dose: {number(field(plan, 'dose_per_kg'))} U/kg × {weight} kg = "
                     f"{number(field(plan, 'dose_units'))} U per infusion"),
        Line("text", f"Frequency: {field(plan, 'frequency')} "
                     f"(interval {number(field(plan, 'interval_days'))} days)"),
        Line("text", f"4-week exposure: {number(field(plan, 'exposure_units_per_kg_per_4_weeks'))}"
                     f" U/kg ({number(field(plan, 'infusions_per_4_weeks'))} infusions "
                     "per 4 weeks)"),
        Line("heading", "Vials"),
        Line("text", f"Vials: {vial_list(field(plan, 'vials'))}"),
        Line("text", f"Opened {number(field(plan, 'vial_units_total'))} U; waste "
                     f"{number(field(plan, 'waste_units'))} U "
                     f"({number(field(plan, 'waste_percent'), 1)}% of the units opened)"),
    ]
    for alternative in field(plan, "alternatives"):
        where = "alternatives[]."
        percent = number(field(alternative, "percent_of_prescribed", where), 1)
        lines.append(Line("detail", "Whole-vial dose for the prescriber: "
                          f"{number(field(alternative, 'dose_units', where))} U "
                          f"({percent}% of prescribed): {vial_list(field(alternative, 'vials'))}"))

    water = _marked(monograph.reconstitution.diluent, monograph.reconstitution.verified)
    lines.append(Line("heading", f"Reconstitution with {water}"))
    for step in field(plan, "reconstitution"):
        where = "reconstitution[]."
        lines.append(Line(
            "text", f"{number(field(step, 'vial_units', where))} U vials × "
                    f"{field(step, 'count', where)}: add "
                    f"{number(field(step, 'sterile_water_ml', where))} mL to each "
                    f"({number(field(step, 'concentration_units_per_ml', where))} U/mL)"))
    lines.append(Line("detail", monograph.reconstitution.technique))

    lines += [Line("heading", "Bag"),
              Line("text", f"Withdraw: {number(field(plan, 'withdraw_ml'))} mL of reconstituted "
                           f"solution ({number(field(plan, 'concentration_units_per_ml'))} U/mL)")]
    low, high = field(plan, "final_volume_range_ml")
    saline = _marked(monograph.dilution.diluent, monograph.dilution.verified)
    final_volume = field(plan, "final_volume_ml")
    sodium_chloride = field(plan, "sodium_chloride_ml")
    if final_volume is None or sodium_chloride is None:
        lines.append(Line("strong", f"Dilute: NO BAG: the dose alone exceeds the {number(high)} mL "
                                    f"maximum ({field(plan, 'bags_needed')} bags would be needed; "
                                    "see alerts)"))
    else:
        lines.append(Line("text", f"Dilute: add {number(sodium_chloride)} mL {saline} to a final "
                                  f"volume of {number(final_volume)} mL "
                                  f"(label: {number(low)}–{number(high)} mL)"))
        concentration = plan.get("final_concentration_units_per_ml")
        lines.append(Line("text", "Final concentration: " + (
            "not in this plan (made before ertplan gave it)" if concentration is None
            else f"{number(concentration)} U/mL")))

    rate = field(infusion, "rate_ml_per_h", "infusion.")
    rate_text = "no rate (no bag)" if rate is None else f"{number(rate)} mL/h"
    duration = number(field(infusion, "duration_min", "infusion."))
    lines += [
        Line("heading", "Infusion"),
        Line("text", f"Rate: {rate_text} over {duration} min "
                     f"({number(field(infusion, 'units_per_kg_per_min', 'infusion.'), 3)} "
                     "U/kg/min)"),
        Line("detail", f"Duration: {field(infusion, 'duration_basis', 'infusion.')}"),
        Line("text", "Filter: " + _marked(str(field(infusion, "filter_wording", "infusion.")),
                                          monograph.infusion_filter.verified)),
        Line("heading", "Beyond use"),
        *_use_by("Reconstituted vials", beyond_use, "reconstituted"),
        *_use_by("Diluted bag", beyond_use, "diluted"),
        Line("heading", "Alerts"),
    ]
    alerts = field(plan, "alerts")
    if not alerts:
        lines.append(Line("text", "No alerts."))
    for alert in alerts:
        where = "alerts[]."
        lines += [
            Line("strong", f"{str(field(alert, 'severity', where)).upper()} "
                           f"{field(alert, 'code', where)}: {field(alert, 'message', where)}"),
            Line("detail", "Source: " + _marked(str(field(alert, "source", where)),
                                                bool(field(alert, "verified", where)))),
        ]

    lines += [Line("heading", "Lots"), *_lot_lines(context)]
    lines += [
        Line("heading", "Signatures"),
        Line("text", f"Prepared by: {context.prepared_by or BLANK}   signature {BLANK}   "
                     f"date/time {BLANK}"),
        Line("text", f"Verified by (pharmacist): {context.verified_by or BLANK}   "
                     f"signature {BLANK}   date/time {BLANK}"),
        Line("strong", str(field(plan, "verification_note"))),
    ]
    return lines


def _use_by(what: str, beyond_use: Any, key: str) -> list[Line]:
    until = field(beyond_use, f"{key}_until", "beyond_use.")
    basis = str(field(beyond_use, f"{key}_basis", "beyond_use."))
    if until is None:  # the plan's own words say why: no data, or no bag
        return [Line("strong", f"{what}: no beyond-use time: {basis}")]
    return [Line("text", f"{what}: use by {moment(until)}"), Line("detail", basis)]


def _lot_lines(context: WorksheetContext) -> list[Line]:
    if not context.lots:
        return [Line("text", "Lots: not recorded; write each lot and expiry here: "
                             "______________________________")]
    lines = [Line("text", f"{number(lot.vial_units)} U vials × {lot.count}: lot {lot.lot}, "
                          f"expiry {lot.expiry_date.isoformat()}") for lot in context.lots]
    planned: dict[int, int] = {}
    for vial in field(context.plan, "vials"):
        units = int(field(vial, "units", "vials[]."))
        planned[units] = planned.get(units, 0) + int(field(vial, "count", "vials[]."))
    recorded: dict[int, int] = {}
    for lot in context.lots:
        recorded[lot.vial_units] = recorded.get(lot.vial_units, 0) + lot.count
    if recorded != planned:  # counting, not judging: the pharmacist sees both side by side
        shown = " + ".join(f"{count} × {number(units)} U" for units, count in
                           sorted(recorded.items(), reverse=True))
        lines.append(Line("strong", f"The lots hold {shown}; the plan's vials are "
                                    f"{vial_list(field(context.plan, 'vials'))}."))
    return lines


def worksheet_text(context: WorksheetContext) -> list[str]:
    """The lines the worksheet PDF shows, in order (the PDF may wrap a long one).

    >>> from datetime import datetime
    >>> from ertplan.core import every, load_monograph, monograph_path, Order, plan_preparation
    >>> from ertplan.core import to_data
    >>> imiglucerase = load_monograph(monograph_path("imiglucerase"))
    >>> plan = plan_preparation(Order(weight_kg=70, dose_units_per_kg=60, frequency=every(14),
    ...                               prepared_at=datetime(2026, 12, 7, 8, 0)), imiglucerase)
    >>> lines = worksheet_text(WorksheetContext(to_data(plan), monograph=imiglucerase))
    >>> [line for line in lines if line.startswith(("Dose:", "Vials:", "Dilute:", "Rate:"))]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['Dose: 60 U/kg × 70 kg = 4,200 U per infusion', 'Vials: 10 × 400 U + 1 × 200 U',
     'Dilute: add 45 mL 0.9% sodium chloride injection to a final volume of 150 mL
      (label: 100–200 mL)', 'Rate: 75 mL/h over 120 min (0.5 U/kg/min)']
    """
    return [line.text for line in worksheet_lines(context)]


def label_lines(context: WorksheetContext) -> list[Line]:
    """The bag label's lines (its barcode is drawn beside them)."""
    plan = context.plan
    monograph = monograph_of(context)
    infusion = field(plan, "infusion")
    beyond_use = field(plan, "beyond_use")
    final_volume = field(plan, "final_volume_ml")
    lines = [Line("title", drug_title(monograph)),
             Line("text", f"Patient: {patient_text(context)}"),
             Line("strong", f"Dose: {number(field(plan, 'dose_units'))} U "
                            f"({number(field(plan, 'dose_per_kg'))} U/kg × "
                            f"{number(field(plan, 'weight_kg'))} kg)")]
    if final_volume is None:
        lines.append(Line("strong", "NO BAG: the dose alone exceeds the maximum final volume "
                                    "(see the worksheet's alerts)"))
    else:
        concentration = plan.get("final_concentration_units_per_ml")
        shown = "—" if concentration is None else f"{number(concentration)} U/mL"
        lines.append(Line("text", f"In {number(final_volume)} mL {monograph.dilution.diluent}: "
                                  f"{shown}"))
    rate = field(infusion, "rate_ml_per_h", "infusion.")
    lines.append(Line("text", f"Rate: {'—' if rate is None else number(rate)} mL/h over "
                              f"{number(field(infusion, 'duration_min', 'infusion.'))} min"))
    until = field(beyond_use, "diluted_until", "beyond_use.")
    if until is None:
        lines.append(Line("strong", "Use by: no beyond-use time: "
                                    f"{field(beyond_use, 'diluted_basis', 'beyond_use.')}"))
    else:
        lines.append(Line("strong", f"Use by: {moment(until)}"))
    lines += [Line("text", f"Filter: {field(infusion, 'filter', 'infusion.')}"),
              Line("text", preparation_text(context)),
              Line("strong", LABEL_NOTE),
              Line("detail", str(field(plan, "verification_note")))]
    return lines
