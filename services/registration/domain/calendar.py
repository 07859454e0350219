"""The public activity calendar: an iCalendar feed (RFC 5545) people add to their phone's calendar."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class CalendarEntry:
    """One activity as a calendar shows it; no time of day makes it an all-day entry."""

    uid: str
    title: str
    day: date
    start: time | None
    end: time | None
    place: str
    description: str
    url: str | None
    cancelled: bool
    sequence: int
    stamp: datetime


def escape(text: str) -> str:
    """TEXT as RFC 5545 writes it: backslash, semicolon, comma and newlines escaped."""
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """A content line folded at 75 octets (never inside a UTF-8 character), continuation lines start with a space."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc(day: date, at: time, zone: ZoneInfo) -> str:
    return datetime.combine(day, at, zone).astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def _when(entry: CalendarEntry, zone: ZoneInfo) -> list[str]:
    if entry.start is None:
        return [f"DTSTART;VALUE=DATE:{entry.day:%Y%m%d}", f"DTEND;VALUE=DATE:{entry.day + timedelta(days=1):%Y%m%d}"]
    lines = [f"DTSTART:{_utc(entry.day, entry.start, zone)}"]
    if entry.end is not None:
        lines.append(f"DTEND:{_utc(entry.day, entry.end, zone)}")
    return lines


def ics_feed(name: str, entries: list[CalendarEntry], timezone: str) -> str:
    """A VCALENDAR holding `entries` (times in UTC, so no VTIMEZONE is needed), CRLF line ends."""
    zone = ZoneInfo(timezone)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//sciweek//activity calendar//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        f"X-WR-TIMEZONE:{timezone}",
    ]
    for entry in entries:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{entry.uid}",
            f"DTSTAMP:{entry.stamp.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}",
            f"SEQUENCE:{entry.sequence}",
            *_when(entry, zone),
            f"SUMMARY:{escape(entry.title)}",
            f"LOCATION:{escape(entry.place)}",
            f"DESCRIPTION:{escape(entry.description)}",
            *([f"URL:{entry.url}"] if entry.url else []),
            f"STATUS:{'CANCELLED' if entry.cancelled else 'CONFIRMED'}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
