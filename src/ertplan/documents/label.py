"""The bag label as SVG: the plan's facts for the bedside and the preparation's barcode."""

from __future__ import annotations

import textwrap
from xml.sax.saxutils import escape

from ertplan.documents.barcode import (
    BAR_MODULES,
    MODULE_MM,
    TEXT_MODULES,
    barcode_payload,
    barcode_svg_element,
)
from ertplan.documents.context import WorksheetContext
from ertplan.documents.text import label_lines

WIDTH_MM = 100.0
MARGIN_MM = 5.0
# (font size, line height) in mm, and how many characters of DejaVu Sans fit the label's width
SETTING_MM = {"title": (4.6, 6.0), "strong": (3.3, 4.4), "text": (3.3, 4.4), "heading": (3.3, 4.4),
              "detail": (2.6, 3.4)}
WRAP_CHARACTERS = {"title": 34, "strong": 46, "text": 52, "heading": 46, "detail": 66}


def bag_label_svg(context: WorksheetContext) -> str:
    """The bag label of `context`, a standalone SVG 100 mm wide.

    It carries the barcode of :func:`barcode_payload` of the preparation id; without an id it says
    the bag is not yet prepared and carries no barcode (nothing to scan before there is a record).
    """
    rows: list[str] = []
    y = MARGIN_MM
    for line in label_lines(context):
        size, height = SETTING_MM[line.style]
        weight = "bold" if line.style in ("title", "strong", "heading") else "normal"
        for part in textwrap.wrap(line.text, WRAP_CHARACTERS[line.style]) or [""]:
            y += height
            rows.append(f'<text x="{MARGIN_MM:g}" y="{y:.1f}" font-size="{size:g}" '
                        f'font-weight="{weight}">{escape(part)}</text>')
    y += 2
    if context.preparation_id is not None:
        rows.append(barcode_svg_element(barcode_payload(context.preparation_id),
                                        x_mm=MARGIN_MM, y_mm=y))
        y += (BAR_MODULES + TEXT_MODULES) * MODULE_MM
    height_mm = y + MARGIN_MM
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM:g}mm" '
        f'height="{height_mm:.1f}mm" '
        f'viewBox="0 0 {WIDTH_MM:g} {height_mm:.1f}" '
        'font-family="DejaVu Sans, Arial, sans-serif">',
        f'<rect x="0.5" y="0.5" width="{WIDTH_MM - 1:g}" height="{height_mm - 1:.1f}" fill="#fff" '
        'stroke="#000" stroke-width="0.3"/>',
        *rows,
        "</svg>",
        "",
    ])
