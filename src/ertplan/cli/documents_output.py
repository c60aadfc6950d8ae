"""``ertplan prepare --pdf/--label``: the worksheet PDF and the bag label written to files.

Imported only when one of them is asked for: fpdf2 and the documents are no part of prepare's
measured start-up.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.preparation import PreparationPlan
from ertplan.core.serialize import to_data
from ertplan.documents import WorksheetContext, bag_label_svg, worksheet_pdf


def write_documents(plan: PreparationPlan, monograph: Monograph, *, pdf: str | None,
                    label: str | None, generated_at: datetime) -> None:
    """Write the worksheet PDF to `pdf` and the label SVG to `label` (each when given).

    The command line has no preparation record: the documents say "not yet prepared" and the label
    carries no barcode. A file that cannot be written is refused naming its option.
    """
    context = WorksheetContext(plan=to_data(plan), monograph=monograph, generated_at=generated_at)
    if pdf is not None:
        _write(pdf, worksheet_pdf(context), "pdf")
    if label is not None:
        _write(label, bag_label_svg(context).encode("utf-8"), "label")


def _write(path: str, content: bytes, option: str) -> None:
    try:
        Path(path).write_bytes(content)
    except OSError as error:
        raise InputError(option, f"cannot write the file ({error.strerror or error})",
                         path) from None
