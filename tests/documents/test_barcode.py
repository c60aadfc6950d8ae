"""The preparation barcode: its payload, and bars that an independent reader decodes."""

from __future__ import annotations

import re

import pytest
import zxingcpp
from hypothesis import assume, given
from hypothesis import strategies as st

from ertplan.core.errors import InputError
from ertplan.documents import barcode_payload, code128_svg, parse_barcode_payload
from ertplan.documents.barcode import QUIET_MODULES
from tests.documents.code128 import WIDTHS, decode, raster, svg_modules, widths_to_modules

PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40)
# digit runs of every length and place: where code set C begins and ends
DIGITS_AND_TEXT = st.from_regex(r"[0-9]{0,9}[A-Za-z -]{0,3}[0-9]{0,9}[a-z]?",
                                fullmatch=True).filter(bool)


def test_preparation_123_is_ertplan_prep_000123() -> None:
    assert barcode_payload(123) == "ERTPLAN-PREP-000123"
    assert parse_barcode_payload("ERTPLAN-PREP-000123") == 123
    assert barcode_payload(1_000_000) == "ERTPLAN-PREP-1000000"  # past the padding: no cut


@given(st.integers(min_value=1, max_value=10**15))
def test_payload_and_id_round_trip(preparation_id: int) -> None:
    payload = barcode_payload(preparation_id)
    assert parse_barcode_payload(payload) == preparation_id
    assert parse_barcode_payload(f"  {payload}\r\n") == preparation_id  # a scanner's line end


@given(st.text(max_size=30))
def test_text_without_the_prefix_is_refused_naming_the_barcode(text: str) -> None:
    assume(not text.strip().startswith("ERTPLAN-PREP-"))
    with pytest.raises(InputError, match=r"^barcode: [^\n]*$"):
        parse_barcode_payload(text)


@given(st.text(st.characters(codec="ascii"), max_size=12))
def test_after_the_prefix_only_the_printed_spelling_is_read(tail: str) -> None:
    text = "ERTPLAN-PREP-" + tail
    digits = text.strip().removeprefix("ERTPLAN-PREP-")
    if re.fullmatch("[0-9]+", digits) and int(digits) > 0 \
            and barcode_payload(int(digits)) == text.strip():
        assert parse_barcode_payload(text) == int(digits)
    else:
        with pytest.raises(InputError, match=r"^barcode: "):
            parse_barcode_payload(text)


@pytest.mark.parametrize("junk", [
    "", "ERTPLAN-PREP-", "ERTPLAN-PREP-000000", "ERTPLAN-PREP-0000123", "ERTPLAN-PREP-123",
    "ertplan-prep-000123", "ERTPLAN-PREP-00012a", "ERTPLAN-PREP-٠٠٠١٢٣", "ERTPLAN-PREP--00123",
    "XERTPLAN-PREP-000123", "ERTPLAN-PREP-000123 7",
])
def test_junk_is_refused(junk: str) -> None:
    with pytest.raises(InputError, match=r"^barcode: ") as refused:
        parse_barcode_payload(junk)
    assert refused.value.field == "barcode"


def test_text_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InputError, match=r"^barcode: "):
        parse_barcode_payload(123)  # type: ignore[arg-type]


@pytest.mark.parametrize("preparation_id", [0, -5, True, 1.0, "12"])
def test_a_payload_needs_a_positive_whole_id(preparation_id: object) -> None:
    with pytest.raises(InputError, match=r"^preparation_id: "):
        barcode_payload(preparation_id)  # type: ignore[arg-type]


def test_the_specification_table_is_eleven_modules_a_symbol() -> None:
    # the reader's own table, checked before it is trusted: 106 symbols of 11 modules, all distinct
    assert len(WIDTHS) == 106
    assert {sum(int(width) for width in widths) for widths in WIDTHS} == {11}
    assert len({widths_to_modules(widths) for widths in WIDTHS}) == 106


def test_the_bars_of_preparation_123_decode_with_a_valid_check_symbol() -> None:
    modules, left, right = svg_modules(code128_svg("ERTPLAN-PREP-000123"))
    assert decode(modules) == "ERTPLAN-PREP-000123"  # decode() asserts the modulo-103 check
    assert left == right == QUIET_MODULES
    # start B, 13 letters, a switch to code C for 000123 (3 pairs), the check, then the stop
    assert len(modules) == (1 + 13 + 1 + 3 + 1) * 11 + 13


@given(PRINTABLE)
def test_any_printable_text_decodes_back_from_its_bars(text: str) -> None:
    modules, left, right = svg_modules(code128_svg(text))
    assert decode(modules) == text
    assert left == right == QUIET_MODULES


@given(st.integers(min_value=1, max_value=10**9))
def test_a_barcode_reader_reads_the_payload(preparation_id: int) -> None:
    # zxing-cpp, a reader that shares no code with the writer, reads the drawn bars
    payload = barcode_payload(preparation_id)
    modules, left, _ = svg_modules(code128_svg(payload))
    found = zxingcpp.read_barcode(raster(modules, left))
    assert found is not None
    assert (found.text, found.format) == (payload, zxingcpp.BarcodeFormat.Code128)
    assert parse_barcode_payload(found.text) == preparation_id


@given(PRINTABLE | DIGITS_AND_TEXT)
def test_a_barcode_reader_reads_any_printable_text(text: str) -> None:
    modules, left, _ = svg_modules(code128_svg(text))
    found = zxingcpp.read_barcode(raster(modules, left))
    assert found is not None
    assert found.text == text


@pytest.mark.parametrize("text", ["99", "991234", "9912AB", "A99", "12345", "1a", "a123456b"])
def test_digits_in_every_code_set_position_read_back(text: str) -> None:
    # python-barcode 0.16 drops a leading "99" (it reads the value as a code-set switch): not us
    modules, left, _ = svg_modules(code128_svg(text))
    assert decode(modules) == text
    found = zxingcpp.read_barcode(raster(modules, left))
    assert found is not None
    assert found.text == text


@pytest.mark.parametrize("data", ["", "µg", "tab\there", "x" * 49])
def test_text_code_128_cannot_carry_is_refused(data: str) -> None:
    with pytest.raises(InputError, match=r"^barcode: "):
        code128_svg(data)


def test_the_human_readable_line_is_escaped() -> None:
    svg = code128_svg("a<b&c")
    assert "a&lt;b&amp;c" in svg
    assert decode(svg_modules(svg)[0]) == "a<b&c"
