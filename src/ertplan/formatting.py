"""How numbers are written for people, shared by every shell (terminal, documents, pages, cards).

Formats only; computes nothing clinical. It sits below the shells so that none of them imports
another's renderer.
"""

from __future__ import annotations


def number(value: float, digits: int = 2, *, grouping: bool = True) -> str:
    """A number with at most `digits` decimals and no trailing zeros: 105, 104.78, 2.33.

    Thousands are separated (4,200) unless `grouping` is false, as files for machines want.

    >>> number(4200.0), number(104.7619), number(0.5, 3), number(-0.0)
    ('4,200', '104.76', '0.5', '0')
    >>> number(5680, 0, grouping=False)
    '5680'
    """
    text = f"{value:,.{digits}f}" if grouping else f"{value:.{digits}f}"
    if "." in text:  # only decimals may lose their trailing zeros: 5,680 stays 5,680
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
