"""The worksheet as a PDF (fpdf2), set in DejaVu Sans: the plan's µ, ×, – and ° need Unicode."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ertplan.core.errors import InputError
from ertplan.documents.barcode import (
    BAR_MODULES,
    MODULE_MM,
    QUIET_MODULES,
    bar_runs,
    barcode_payload,
    code128_modules,
)
from ertplan.documents.context import WorksheetContext
from ertplan.documents.text import Line, worksheet_lines

if TYPE_CHECKING:
    from fpdf import FPDF

# no clock inside: without a generated_at the PDF is stamped with a fixed date, so that the same
# context always gives the same bytes
FIXED_CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)
FONT = "DejaVu"
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
SIZES_PT = {"title": 14.0, "heading": 11.5, "text": 10.0, "strong": 10.0, "detail": 8.5}
LINE_MM = {"title": 7.0, "heading": 6.0, "text": 5.0, "strong": 5.0, "detail": 4.0}


def font_folder() -> Path:
    """Matplotlib's bundled DejaVu fonts (matplotlib is already a dependency of ertplan)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def worksheet_pdf(context: WorksheetContext) -> bytes:
    """The worksheet of `context` as PDF bytes: the lines of :func:`worksheet_text`, and the
    preparation's barcode when it has an id. The same context gives the same bytes."""
    from fpdf import FPDF  # imported here: only a printed worksheet needs it

    lines = worksheet_lines(context)
    _refuse_unprintable(lines, context)  # before fpdf2 opens the font files
    footer = "ertplan preparation worksheet · " + (
        "not yet prepared" if context.preparation_id is None
        else barcode_payload(context.preparation_id))

    class _Worksheet(FPDF):
        def footer(self) -> None:  # every page names its preparation: sheets get separated
            self.set_y(-12)
            self.set_font(FONT, "", 7.5)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, f"{footer} · page {self.page_no()} of {{nb}}", align="C")

    pdf = _Worksheet(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(_stamp(context.generated_at))
    pdf.set_title(lines[0].text)
    pdf.set_creator("ertplan")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font(FONT, "", str(font_folder() / REGULAR))
    pdf.add_font(FONT, "B", str(font_folder() / BOLD))
    pdf.add_page()
    if context.preparation_id is not None:
        _draw_barcode(pdf, barcode_payload(context.preparation_id))
    for line in lines:
        _write(pdf, line)
    return bytes(pdf.output())


def _stamp(generated_at: datetime | None) -> datetime:
    if generated_at is None:
        return FIXED_CREATION_DATE
    # a naive time is taken as UTC here: fpdf2 would take the machine's zone, a hidden input
    return generated_at if generated_at.tzinfo is not None else generated_at.replace(tzinfo=UTC)


def _bold(line: Line) -> bool:
    return line.style in ("title", "heading", "strong")


@functools.cache
def _font_characters(file_name: str) -> frozenset[int]:
    """The code points `file_name` (one of the DejaVu fonts) has a glyph for."""
    from fontTools.ttLib import TTFont  # fpdf2's own dependency

    with TTFont(str(font_folder() / file_name), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _refuse_unprintable(lines: list[Line], context: WorksheetContext) -> None:
    """Refuse text the font has no glyph for: fpdf2 would leave it out, and a patient's name
    printed with letters missing is worse than no worksheet."""
    regular, bold = _font_characters(REGULAR), _font_characters(BOLD)
    missing = sorted({character for line in lines for character in line.text
                      if not character.isspace()
                      and ord(character) not in (bold if _bold(line) else regular)})
    if not missing:
        return
    given = {"patient_name": context.patient_name,
             "patient_identifier": context.patient_identifier,
             "prepared_by": context.prepared_by, "verified_by": context.verified_by,
             **{f"lots[{index}].lot": lot.lot for index, lot in enumerate(context.lots)}}
    field, value = next(((name, value) for name, value in given.items()
                         if value and any(character in value for character in missing)),
                        ("plan", None))
    shown = " ".join(f"U+{ord(character):04X}" for character in missing[:5])
    raise InputError(field, f"has characters the worksheet's font (DejaVu Sans) cannot print "
                     f"({shown})", value)


def _write(pdf: FPDF, line: Line) -> None:
    if line.style == "heading":
        # a heading starts a new page rather than end one; the signatures stay together
        room_mm = 35 if line.text == "Signatures" else 20
        if pdf.get_y() > pdf.h - pdf.b_margin - room_mm:
            pdf.add_page()
        else:
            pdf.ln(2)
    pdf.set_font(FONT, "B" if _bold(line) else "",
                 SIZES_PT[line.style])
    pdf.set_text_color(*((90, 90, 90) if line.style == "detail" else (0, 0, 0)))
    pdf.multi_cell(0, LINE_MM[line.style], line.text, align="L", new_x="LMARGIN",
                   new_y="NEXT")


def _draw_barcode(pdf: FPDF, payload: str) -> None:
    """The barcode at the top right, above the text (half the label's bar height: a sheet is
    scanned flat)."""
    modules = code128_modules(payload)
    width_mm = (len(modules) + 2 * QUIET_MODULES) * MODULE_MM
    bar_height_mm = BAR_MODULES * MODULE_MM / 2
    left = pdf.w - pdf.r_margin - width_mm
    top = pdf.t_margin
    pdf.set_fill_color(0, 0, 0)
    for start, run in bar_runs(modules):
        pdf.rect(left + (QUIET_MODULES + start) * MODULE_MM, top, run * MODULE_MM,
                 bar_height_mm, style="F")
    pdf.set_font(FONT, "", 8)
    pdf.set_xy(left, top + bar_height_mm + 0.5)
    pdf.cell(width_mm, 4, payload, align="C")
    pdf.set_xy(pdf.l_margin, top + bar_height_mm + 6)
