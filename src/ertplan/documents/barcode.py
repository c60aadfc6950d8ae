"""The preparation's barcode: a Code 128 symbol of ``ERTPLAN-PREP-`` and the zero-padded id.

The symbol's modules (start, data, check and stop patterns) come from ertplan.documents.code128;
the bars are drawn as plain SVG rectangles, one per bar, in module units, so that the same drawing
is a standalone file or part of a label.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from ertplan.core.errors import InputError
from ertplan.documents import code128

PAYLOAD_PREFIX = "ERTPLAN-PREP-"
PAYLOAD_DIGITS = 6
_PAYLOAD = re.compile(rf"{re.escape(PAYLOAD_PREFIX)}([0-9]{{{PAYLOAD_DIGITS},}})")
# printed size: the narrowest bar of 0.33 mm (Code 128's usual X-dimension for labels) and a
# quiet zone of 10 modules on each side, which the symbology requires for a scanner to lock on
MODULE_MM = 0.33
QUIET_MODULES = 10
BAR_MODULES = 45  # bar height 15 mm: easy to scan across a bag label
TEXT_MODULES = 12  # the human-readable line under the bars
MAX_DATA_CHARACTERS = 48


def barcode_payload(preparation_id: int) -> str:
    """The text encoded in the barcode of preparation `preparation_id`.

    >>> barcode_payload(123)
    'ERTPLAN-PREP-000123'
    >>> barcode_payload(1234567)
    'ERTPLAN-PREP-1234567'
    """
    if isinstance(preparation_id, bool) or not isinstance(preparation_id, int) \
            or preparation_id < 1:
        raise InputError("preparation_id", "must be a positive whole number", preparation_id)
    return f"{PAYLOAD_PREFIX}{preparation_id:0{PAYLOAD_DIGITS}d}"


def parse_barcode_payload(text: str) -> int:
    """The preparation id a scanned barcode names: the exact inverse of :func:`barcode_payload`.

    Line ends a scanner appends are ignored; anything else that is not a payload ertplan wrote is
    refused, naming the field ``barcode``.

    >>> parse_barcode_payload("ERTPLAN-PREP-000123\\r\\n")
    123
    >>> parse_barcode_payload("ERTPLAN-PREP-123")
    Traceback (most recent call last):
    ...
    ertplan.core.errors.InputError: barcode: is not an ertplan preparation barcode such as \
ERTPLAN-PREP-000123 (got 'ERTPLAN-PREP-123')
    """
    if not isinstance(text, str):
        raise InputError("barcode", "must be text", text)
    stripped = text.strip()
    match = _PAYLOAD.fullmatch(stripped)
    preparation_id = 0 if match is None else int(match.group(1))
    # the padded form is the only spelling: 0000123 would name 123 but is not what was printed
    if preparation_id < 1 or barcode_payload(preparation_id) != stripped:
        raise InputError("barcode", "is not an ertplan preparation barcode such as "
                         f"{barcode_payload(123)}", stripped)
    return preparation_id


def code128_modules(data: str) -> str:
    """The Code 128 symbol of `data` as modules, ``1`` for bar and ``0`` for space.

    It runs from the start pattern through the data, the modulo-103 check symbol and the stop
    pattern (which ends in its two-module bar); quiet zones are not included.

    >>> code128_modules("A")[:11]  # start B
    '11010010000'
    """
    if not isinstance(data, str) or not 1 <= len(data) <= MAX_DATA_CHARACTERS \
            or not all(" " <= character <= "~" for character in data):
        raise InputError("barcode", f"must be 1 to {MAX_DATA_CHARACTERS} printable ASCII "
                         "characters", data)
    return code128.modules(data)


def bar_runs(modules: str) -> list[tuple[int, int]]:
    """Each bar of `modules` as (first module, width in modules).

    >>> bar_runs("1101001")
    [(0, 2), (3, 1), (6, 1)]
    """
    return [(match.start(), len(match.group())) for match in re.finditer("1+", modules)]


def barcode_svg_element(data: str, *, x_mm: float | None = None, y_mm: float | None = None,
                        human_readable: bool = True) -> str:
    """The barcode of `data` as one ``<svg id="barcode">`` element, in module units.

    Placed at (`x_mm`, `y_mm`) inside a drawing in millimetres, or a document of its own when
    both are None. Its width is ``MODULE_MM`` per module, quiet zones included.
    """
    modules = code128_modules(data)
    width = len(modules) + 2 * QUIET_MODULES
    height = BAR_MODULES + (TEXT_MODULES if human_readable else 0)
    placed = "" if x_mm is None or y_mm is None else f' x="{_mm(x_mm)}" y="{_mm(y_mm)}"'
    size = (f'width="{_mm(width * MODULE_MM)}{"mm" if not placed else ""}" '
            f'height="{_mm(height * MODULE_MM)}{"mm" if not placed else ""}"')
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="barcode"{placed} {size} '
             f'viewBox="0 0 {width} {height}" shape-rendering="crispEdges">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    parts += [f'<rect class="bar" x="{QUIET_MODULES + start}" y="0" width="{run}" '
              f'height="{BAR_MODULES}" fill="#000"/>' for start, run in bar_runs(modules)]
    if human_readable:
        parts.append(f'<text x="{width / 2:g}" y="{height - 2}" text-anchor="middle" '
                     f'font-family="DejaVu Sans, Arial, sans-serif" font-size="9">'
                     f"{escape(data)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def code128_svg(data: str) -> str:
    """A standalone SVG document of the Code 128 barcode of `data`, with the text under it.

    >>> svg = code128_svg("ERTPLAN-PREP-000123")
    >>> svg.startswith('<?xml'), svg.count('class="bar"')
    (True, 61)
    """
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + barcode_svg_element(data) + "\n")


def _mm(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
