"""What ``ertplan prepare`` does once its options are read: plan, screen, write documents, print.

No Typer here: the command line's fast path (:mod:`ertplan.cli.fast`) calls :func:`run_prepare`
without loading it, and the Typer command (:mod:`ertplan.cli.prepare`) calls it too.
"""

from __future__ import annotations

import sys


def run_prepare(*, weight: str, dose: str, every: str | None = None,
                times_per_week: float | None = None, duration: str | None = None,
                prepared_at: str | None = None, diluted_at: str | None = None,
                storage: str = "refrigerated", drug: str = "imiglucerase",
                vial_sizes: str | None = None, high_waste_percent: float | None = None,
                patient: str | None = None, pdf: str | None = None, label: str | None = None,
                as_json: bool = False) -> None:
    """Plan one infusion's preparation from ``ertplan prepare``'s options and print it."""
    from datetime import datetime

    from ertplan.cache import UnitMemo, cached_monograph
    from ertplan.core.inputs import PreparationInputs, order_from_inputs
    from ertplan.core.preparation import plan_preparation

    monograph = cached_monograph(drug)
    memo = UnitMemo()
    inputs = PreparationInputs(
        weight=weight, dose=dose, every=every, times_per_week=times_per_week, duration=duration,
        prepared_at=prepared_at, diluted_at=diluted_at, storage=storage, vial_sizes=vial_sizes,
        high_waste_percent=high_waste_percent,
    )
    order = order_from_inputs(inputs, now=datetime.now().astimezone(), table=memo)
    memo.save()
    plan = plan_preparation(order, monograph)
    screening = None
    if patient is not None:  # imported only here: prepare's cold start is a measured budget
        from ertplan.cli.patient_input import screen_into_plan

        plan, screening = screen_into_plan(plan, monograph, patient, order.prepared_at.date())
    if pdf is not None or label is not None:  # imported only here: fpdf2 is not prepare's cost
        from ertplan.cli.documents_output import write_documents

        write_documents(plan, monograph, pdf=pdf, label=label,
                        generated_at=datetime.now().astimezone())
    if as_json:
        import json

        from ertplan.core.serialize import to_data

        data = to_data(plan)
        if screening is not None:
            data["screening"] = {"screened_on": screening.screened_on.isoformat(),
                                 "not_checked": list(screening.not_checked)}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        from ertplan.cli.render import print_worksheet

        print_worksheet(plan, monograph)
