"""What a printed document is made from: the core's plan as data, and the facts of the shell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for the annotation: documents load a monograph only when not given one
    from ertplan.core.monograph import Monograph


@dataclass(frozen=True)
class VialLot:
    """`count` vials of `vial_units` U from lot `lot`, usable until `expiry_date`."""

    vial_units: int
    count: int
    lot: str
    expiry_date: date


@dataclass(frozen=True)
class WorksheetContext:
    """Everything a worksheet or a bag label shows.

    `plan` is ``ertplan.core.serialize.to_data(PreparationPlan)``, the same object as
    ``ertplan prepare --json`` (date-times may be ISO strings or datetimes). Nothing clinical is
    computed from it here: the documents only lay it out. `generated_at` is printed and stamped into
    the PDF's metadata; it is passed in, never read from the clock, so the same context gives the
    same bytes. `monograph` gives the names of the drug and its diluents; when None it is loaded
    by the plan's ``drug``.
    """

    plan: dict[str, Any]
    patient_name: str | None = None
    patient_identifier: str | None = None
    preparation_id: int | None = None
    order_id: int | None = None
    lots: tuple[VialLot, ...] = ()
    prepared_by: str | None = None
    verified_by: str | None = None
    generated_at: datetime | None = None
    monograph: Monograph | None = None
