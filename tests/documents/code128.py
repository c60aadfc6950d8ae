"""An independent Code 128 reader for the tests: SVG bars back to modules, modules back to text.

The symbol table is typed from the Code 128 specification (ISO/IEC 15417, table 1: bar and space
widths of values 0-106), not taken from python-barcode, so that a wrong table there would show.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import numpy as np

SVG = "{http://www.w3.org/2000/svg}"
_TABLE = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "  # 0-9
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "  # 10-19
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "  # 20-29
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "  # 30-39
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "  # 40-49
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "  # 50-59
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "  # 60-69
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "  # 70-79
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "  # 80-89
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "  # 90-99
    "114131 311141 411131 211412 211214 211232"  # 100-105: ..., start A, start B, start C
)
WIDTHS = tuple(_TABLE.split())
STOP = "2331112"
START_A, START_B, START_C = 103, 104, 105
CODE_C, CODE_B, CODE_A = 99, 100, 101


def widths_to_modules(widths: str) -> str:
    """Bar, space, bar, ... widths as modules: ``212`` -> ``11011``."""
    return "".join(("1" if index % 2 == 0 else "0") * int(width)
                   for index, width in enumerate(widths))


PATTERNS = {widths_to_modules(widths): value for value, widths in enumerate(WIDTHS)}


def svg_modules(svg: str) -> tuple[str, int, int]:
    """The modules drawn by the ``<svg id="barcode">`` in `svg` (a document holding it).

    Returns the modules from the first bar to the last, and the blank modules left of the first
    bar and right of the last (the quiet zones).
    """
    root = ElementTree.fromstring(svg.encode("utf-8"))
    barcode = root if root.get("id") == "barcode" else root.find(f".//{SVG}svg[@id='barcode']")
    assert barcode is not None, "no barcode in the SVG"
    width = int(barcode.get("viewBox", "").split()[2])
    bars = sorted((int(rect.get("x", "")), int(rect.get("width", "")))
                  for rect in barcode.iter(f"{SVG}rect") if rect.get("class") == "bar")
    drawn = ["0"] * width
    for start, run in bars:
        for module in range(start, start + run):
            assert drawn[module] == "0", "overlapping bars"
            drawn[module] = "1"
    text = "".join(drawn)
    first, last = text.index("1"), text.rindex("1")
    return text[first:last + 1], first, width - last - 1


def decode(modules: str) -> str:
    """The text of a Code 128 symbol from its modules; asserts its start, check and stop."""
    assert modules.endswith(widths_to_modules(STOP)), "no stop pattern"
    body = modules[:-len(widths_to_modules(STOP))]
    assert len(body) % 11 == 0, "symbols are 11 modules wide"
    values = [PATTERNS[body[index:index + 11]] for index in range(0, len(body), 11)]
    start, *data, check = values
    assert start in (START_A, START_B, START_C), "no start symbol"
    assert (start + sum(position * value for position, value in enumerate(data, 1))) % 103 \
        == check, "wrong check symbol"
    code = {START_A: "A", START_B: "B", START_C: "C"}[start]
    text = []
    for value in data:
        if code == "C" and value < 100:
            text.append(f"{value:02d}")
        elif ((code != "C" and value == CODE_C) or (code != "B" and value == CODE_B)
              or (code != "A" and value == CODE_A)):
            code = {CODE_C: "C", CODE_B: "B", CODE_A: "A"}[value]
        elif code == "B" and value < 96:
            text.append(chr(value + 32))
        elif code == "A" and value < 96:
            text.append(chr(value + 32) if value < 64 else chr(value - 64))
        else:
            raise AssertionError(f"function symbol {value} in code {code}: not expected here")
    return "".join(text)


def raster(modules: str, quiet: int, pixels_per_module: int = 3, rows: int = 40) -> np.ndarray:
    """The symbol as a grey image (black bars on white), as a scanner's camera would see it."""
    line = np.array([0 if module == "1" else 255 for module in "0" * quiet + modules + "0" * quiet],
                    dtype=np.uint8)
    return np.tile(np.repeat(line, pixels_per_module), (rows, 1))
