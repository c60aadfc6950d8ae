"""iCalendar (RFC 5545) text for all-day events, written with the standard library.

A small shell-side helper shared by the commands that export dates (``ertplan monitor plan --ics``):
CRLF line ends, one UID and DTSTAMP per event, ``DTSTART;VALUE=DATE``, escaped text and lines folded
at 75 octets. The time stamp is passed in, so the same events give the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

CRLF = "\r\n"
_MAX_OCTETS = 75  # RFC 5545 section 3.1: lines SHOULD NOT be longer than 75 octets


@dataclass(frozen=True)
class CalendarEvent:
    """An all-day event on `on`, or from `on` through `through` (inclusive) when given."""

    uid: str
    on: date
    summary: str
    description: str = ""
    through: date | None = None


def calendar_text(events: Sequence[CalendarEvent], *, stamp: datetime,
                  name: str | None = None, product: str = "-//ertplan//ertplan//EN") -> str:
    """The VCALENDAR text of `events`; `stamp` (time-zone aware) is every event's DTSTAMP.

    >>> text = calendar_text([CalendarEvent("a@ertplan", date(2026, 7, 15), "Review; 6 months")],
    ...                      stamp=datetime(2026, 1, 1, tzinfo=UTC))
    >>> [line for line in text.split(CRLF) if line.startswith(("DTSTART", "SUMMARY"))]
    ['DTSTART;VALUE=DATE:20260715', 'SUMMARY:Review\\\\; 6 months']
    """
    if stamp.tzinfo is None:
        raise ValueError("the DTSTAMP time stamp must carry a time zone")
    stamped = stamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{product}", "CALSCALE:GREGORIAN"]
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    for event in events:
        last = event.on if event.through is None else event.through
        if last < event.on:
            raise ValueError(f"event {event.uid} ends before it starts")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamped}",
            f"DTSTART;VALUE=DATE:{event.on.strftime('%Y%m%d')}",
            # DTEND of an all-day event is exclusive: the day after the last day
            f"DTEND;VALUE=DATE:{(last + timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{escape_text(event.summary)}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def escape_text(text: str) -> str:
    r"""A TEXT value escaped per RFC 5545 3.3.11: backslash, semicolon, comma and new lines.

    >>> escape_text("a, b; c\\d\ne")
    'a\\, b\\; c\\\\d\\ne'
    """
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """`line` folded into pieces of at most 75 octets, never splitting a UTF-8 character."""
    pieces: list[str] = []
    current = ""
    limit = _MAX_OCTETS
    for character in line:
        if len((current + character).encode("utf-8")) > limit:
            pieces.append(current)
            current = character
            limit = _MAX_OCTETS - 1  # continuation lines start with one space
        else:
            current += character
    pieces.append(current)
    return (CRLF + " ").join(pieces)
