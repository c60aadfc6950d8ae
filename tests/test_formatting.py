"""Number formatting shared by every shell: worksheets, tables, pages and cards."""

from __future__ import annotations

import pytest

from ertplan.formatting import number


@pytest.mark.parametrize(("value", "digits", "shown"), [
    (105, 2, "105"), (104.7798, 2, "104.78"), (4200, 2, "4,200"), (2.3333, 2, "2.33"),
    (5680, 0, "5,680"), (5680.4, 0, "5,680"), (100, 0, "100"), (0.0, 1, "0"), (-0.001, 2, "0"),
    (45.5, 1, "45.5"), (45.0, 1, "45"),
])
def test_numbers_lose_trailing_decimal_zeros_only(value: float, digits: int, shown: str) -> None:
    assert number(value, digits) == shown


def test_files_for_machines_get_no_thousands_separator() -> None:
    assert number(5680, 0, grouping=False) == "5680"
    assert number(104.7798, grouping=False) == "104.78"
