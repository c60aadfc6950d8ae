"""Printable documents of a preparation: the worksheet PDF and the bag label with its barcode.

A shell: these functions lay out what the core planned (``to_data(PreparationPlan)``) and compute
nothing clinical. fpdf2 and python-barcode are imported only when a PDF or a barcode is drawn.
"""

from __future__ import annotations

from ertplan.documents.barcode import barcode_payload, code128_svg, parse_barcode_payload
from ertplan.documents.context import VialLot, WorksheetContext
from ertplan.documents.label import bag_label_svg
from ertplan.documents.pdf import worksheet_pdf
from ertplan.documents.text import worksheet_text

__all__ = [
    "VialLot",
    "WorksheetContext",
    "bag_label_svg",
    "barcode_payload",
    "code128_svg",
    "parse_barcode_payload",
    "worksheet_pdf",
    "worksheet_text",
]
