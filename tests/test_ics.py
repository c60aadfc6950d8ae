"""iCalendar output follows RFC 5545: CRLF, UID/DTSTAMP, all-day dates, escaping, folding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertplan.ics import CRLF, CalendarEvent, calendar_text, escape_text, fold

STAMP = datetime(2026, 11, 27, 9, 30, tzinfo=timezone(timedelta(hours=1)))


def test_a_one_event_calendar_line_by_line() -> None:
    text = calendar_text([CalendarEvent("x-1@ertplan", date(2026, 7, 15), "6-month review",
                                        "Failure to respond; maybe, a higher dose")],
                         stamp=STAMP, name="plan")
    assert text.endswith(CRLF)
    assert "\n" not in text.replace(CRLF, "")
    assert text.split(CRLF)[:-1] == [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ertplan//ertplan//EN", "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:plan", "BEGIN:VEVENT", "UID:x-1@ertplan",
        "DTSTAMP:20261127T083000Z",  # 09:30 at UTC+1
        "DTSTART;VALUE=DATE:20260715", "DTEND;VALUE=DATE:20260716",
        "SUMMARY:6-month review",
        "DESCRIPTION:Failure to respond\\; maybe\\, a higher dose",
        "END:VEVENT", "END:VCALENDAR"]


def test_a_window_ends_the_day_after_its_last_day() -> None:
    text = calendar_text([CalendarEvent("w@ertplan", date(2028, 1, 15), "Skeletal",
                                        through=date(2029, 1, 15))], stamp=STAMP)
    assert "DTEND;VALUE=DATE:20290116" in text.split(CRLF)


def test_a_naive_stamp_and_a_backward_window_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        calendar_text([], stamp=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="ends before"):
        calendar_text([CalendarEvent("b", date(2026, 2, 1), "x", through=date(2026, 1, 1))],
                      stamp=STAMP)


def test_text_is_escaped() -> None:
    assert escape_text("a\\b;c,d\ne") == "a\\\\b\\;c\\,d\\ne"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=400))
def test_folded_lines_are_at_most_75_octets_and_unfold_to_the_original(line: str) -> None:
    folded = fold(line)
    pieces = folded.split(CRLF)
    assert all(len(piece.encode("utf-8")) <= 75 for piece in pieces)
    assert all(piece.startswith(" ") for piece in pieces[1:])
    assert folded.replace(CRLF + " ", "") == line


def test_utc_stamps_stay_as_given() -> None:
    text = calendar_text([CalendarEvent("u", date(2026, 1, 1), "x")],
                         stamp=datetime(2026, 1, 1, tzinfo=UTC))
    assert "DTSTAMP:20260101T000000Z" in text
