"""A Code 128 encoder: text to the bars and spaces of one symbol (ISO/IEC 15417).

Written here rather than taken from python-barcode, whose 0.16 drops the first pair of digits of a
text that begins with ``99`` (it reads that value as a code-set switch), so a scanner would read
something else than was printed. The text is set in code set B (printable ASCII), switching to
code set C (two digits a symbol) for runs of digits long enough to make the symbol shorter.
"""

from __future__ import annotations

# bar, space, bar, space, bar, space widths (in modules) of the values 0 to 105 (table 1)
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
    "114131 311141 411131 211412 211214 211232"  # 100-105
)
WIDTHS = tuple(_TABLE.split())
STOP_WIDTHS = "2331112"  # the stop pattern ends in its two-module termination bar
START_B, START_C = 104, 105
TO_C, TO_B = 99, 100  # code-set switches: to C from B, to B from C
# digits are set two to a symbol when the run saves symbols: 4 at either end, 6 in between
DIGITS_AT_END, DIGITS_BETWEEN = 4, 6


def values(text: str) -> list[int]:
    """The symbol values of `text`: start, data and check, without the stop.

    `text` is printable ASCII (space to ``~``); callers check that.

    >>> values("A")  # start B, 'A' (65 - 32), check (104 + 33) mod 103
    [104, 33, 34]
    >>> values("991234")  # start C, 99, 12, 34; check (105 + 1×99 + 2×12 + 3×34) mod 103
    [105, 99, 12, 34, 21]
    """
    symbols: list[int] = []
    code_set = ""
    position = 0
    while position < len(text):
        run = _digit_run(text, position)
        at_end = position == 0 or position + run == len(text)
        if run >= (DIGITS_AT_END if at_end else DIGITS_BETWEEN):
            # an odd run keeps its first digit in code set B, so code set C gets pairs only
            if run % 2:
                if code_set != "B":
                    symbols.append(START_B)  # a digit run never follows code set C
                    code_set = "B"
                symbols.append(ord(text[position]) - 32)
                position += 1
                run -= 1
            symbols.append(START_C if not code_set else TO_C)
            code_set = "C"
            symbols += [int(text[index:index + 2]) for index in range(position, position + run, 2)]
            position += run
            continue
        if code_set != "B":
            symbols.append(START_B if not code_set else TO_B)
            code_set = "B"
        symbols.append(ord(text[position]) - 32)
        position += 1
    check = (symbols[0] + sum(weight * value for weight, value in enumerate(symbols[1:], 1))) % 103
    return [*symbols, check]


def modules(text: str) -> str:
    """The symbol of `text` as modules, ``1`` for bar and ``0`` for space (no quiet zones).

    >>> modules("A")[:11]  # start B: widths 2 1 1 2 1 4
    '11010010000'
    """
    return "".join(_widths_to_modules(WIDTHS[value]) for value in values(text)) + \
        _widths_to_modules(STOP_WIDTHS)


def _widths_to_modules(widths: str) -> str:
    return "".join(("1" if index % 2 == 0 else "0") * int(width)
                   for index, width in enumerate(widths))


def _digit_run(text: str, position: int) -> int:
    end = position
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    return end - position
