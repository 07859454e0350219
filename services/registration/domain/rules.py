"""Rules of venues, open days, bookings, the waiting list, door check-in and the activity calendar."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.rules import RuleViolation

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud at the door
LIVE_STATUSES = ("confirmed", "waitlisted", "offered")
Outcome = Literal[
    "checked_in",
    "already_checked_in",
    "booking_cancelled",
    "not_confirmed",
    "wrong_day",
    "wrong_venue",
    "invalid_token",
]


def booking_code() -> str:
    """A short code the booker keeps to look up or cancel (about 50 bits: not guessable)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def decide_venue_review(status: str) -> None:
    """Only a pending venue can be approved or rejected."""
    if status != "pending":
        raise RuleViolation("venue_already_reviewed", f"场馆已审核（{status}）/ venue already {status}")


@dataclass(frozen=True)
class SlotIn:
    start: time
    end: time
    capacity: int


def session_times(day: date, slots: list[SlotIn], tz: ZoneInfo) -> list[tuple[datetime, datetime, int]]:
    """Each slot's start, end and capacity on `day`, in time order; slots must not overlap or run backwards."""
    spans = sorted((datetime.combine(day, s.start, tz), datetime.combine(day, s.end, tz), s.capacity) for s in slots)
    for start, end, _ in spans:
        if end <= start:
            raise RuleViolation(
                "invalid_session", "场次结束时间须晚于开始时间 / a session must end after it starts", "invalid"
            )
    for (_, prev_end, _), (next_start, _, _) in pairwise(spans):
        if next_start < prev_end:
            raise RuleViolation("sessions_overlap", "场次时间重叠 / sessions overlap", "invalid")
    return spans


def check_booking_window(opens_at: datetime, closes_at: datetime) -> None:
    """Booking closes after it opens."""
    if closes_at <= opens_at:
        raise RuleViolation(
            "invalid_booking_window", "预约截止须晚于开始 / booking must close after it opens", "invalid"
        )


def check_open_day(
    day: date, first: date, last: date, online: bool, online_url: str | None, slots: list[SlotIn]
) -> None:
    """An open day lies within the programme; online openings have a link, on-site ones capacity."""
    if not first <= day <= last:
        raise RuleViolation(
            "outside_programme", f"开放日须在活动周内（{first}–{last}）/ the date must lie in the programme", "invalid"
        )
    if online and not online_url:
        raise RuleViolation("online_url_required", "线上开放须提供链接 / an online opening needs a link", "invalid")
    if not online and not slots:
        raise RuleViolation("sessions_required", "现场开放须至少一个场次 / on-site openings need sessions", "invalid")
    if not online and any(s.capacity < 1 for s in slots):
        raise RuleViolation("capacity_required", "现场场次须有名额 / on-site sessions need capacity", "invalid")


def check_price(policy: str, normal_price: float | None) -> None:
    """Half price states the normal price it halves."""
    if policy == "half_price" and not normal_price:
        raise RuleViolation("normal_price_required", "半价须注明原价 / half price needs the normal price", "invalid")


def check_bookable(openday: dict[str, Any], party_size: int, now: datetime) -> None:
    """A party may book a published on-site open day inside its booking window, within the group size."""
    if openday["status"] != "published":
        raise RuleViolation("openday_not_published", "开放日未发布 / open day not published")
    if openday["online"]:
        raise RuleViolation("online_only", "线上开放无需预约 / online openings need no booking")
    if now < openday["booking_opens_at"]:
        raise RuleViolation("booking_not_open", "预约尚未开始 / booking has not opened yet")
    if now >= openday["booking_closes_at"]:
        raise RuleViolation("booking_closed", "预约已截止 / booking has closed")
    if party_size > openday["max_group_size"]:
        raise RuleViolation(
            "group_too_large", f"每单最多 {openday['max_group_size']} 人 / group size above the maximum", "invalid"
        )


def session_cancelled() -> RuleViolation:
    """The refusal for a session the venue cancelled."""
    return RuleViolation("session_cancelled", "该场次已被场馆取消 / the venue cancelled this session")


def check_session_open(openday: dict[str, Any], session_id: str) -> None:
    """A session the venue cancelled takes no bookings, not even on the waiting list."""
    if any(s["session_id"] == session_id and s.get("cancelled") for s in openday["sessions"]):
        raise session_cancelled()


def check_session_cancellable(slot: dict[str, Any], now: datetime) -> None:
    """A session can be cancelled until it starts."""
    if slot["starts_at"] <= now:
        raise RuleViolation("session_started", "场次已开始，不能取消 / the session has already started")


def check_cancellable(booking: dict[str, Any]) -> None:
    """A booking already used at the door or already ended cannot be cancelled."""
    if booking.get("checked_in_at") is not None:
        raise RuleViolation("already_checked_in", "已入场，不能取消 / already checked in")
    if booking["status"] not in LIVE_STATUSES:
        raise RuleViolation("booking_not_live", f"预约已{booking['status']} / booking is {booking['status']}")


def check_acceptable(booking: dict[str, Any], now: datetime) -> None:
    """Only a live offer can be accepted."""
    if booking["status"] != "offered":
        raise RuleViolation("no_offer", "当前没有可接受的候补名额 / there is no offer to accept")
    if booking["offer_expires_at"] <= now:
        raise RuleViolation("offer_expired", "候补名额已过期 / the offer has expired")


@dataclass(frozen=True)
class Promotion:
    """Which waiting parties get offers from `available` seats, and the seats left over."""

    offered: list[dict[str, Any]]
    left: int


def promote_in_order(waiting: list[dict[str, Any]], available: int) -> Promotion:
    """Offer seats to waiting parties strictly in order; the first party that does not fit stops the line."""
    offered: list[dict[str, Any]] = []
    for party in waiting:
        if party["party_size"] > available:
            break
        offered.append(party)
        available -= party["party_size"]
    return Promotion(offered, available)


def offer_expiry(now: datetime, ttl_s: float, starts_at: datetime) -> datetime | None:
    """An offer lasts `ttl_s`, never past the session's start; None once the session has started."""
    expires = min(now + timedelta(seconds=ttl_s), starts_at)
    return expires if expires > now else None


@dataclass(frozen=True)
class Admission:
    """What the door does with one scan."""

    outcome: Outcome
    detail: str


def check_ticket(claims: dict[str, Any], venue_id: str, scan_day: date) -> Admission | None:
    """Reasons a validly signed ticket is refused before its booking is read (None: read the booking)."""
    if claims["v"] != venue_id:
        return Admission("wrong_venue", "非本场馆的预约 / booked for another venue")
    if claims["d"] != scan_day.isoformat():
        return Admission("wrong_day", f"预约日期为 {claims['d']} / booked for {claims['d']}")
    return None


def admit(booking: dict[str, Any], tz: ZoneInfo) -> Admission:
    """The door's answer for a booking's current state."""
    if booking.get("checked_in_at") is not None:
        at = booking["checked_in_at"].astimezone(tz).strftime("%H:%M")
        return Admission("already_checked_in", f"已于 {at} 入场 / already checked in at {at}")
    if booking["status"] in ("cancelled", "expired"):
        return Admission("booking_cancelled", "预约已取消 / booking cancelled")
    if booking["status"] != "confirmed":
        return Admission("not_confirmed", "预约未确认（候补中）/ booking not confirmed (waiting list)")
    return Admission("checked_in", "请入场 / welcome")


def activity_times(start: time | None, end: time | None) -> dict[str, str | None]:
    """An activity's local times as stored ("HH:MM"); an end needs a start and comes after it."""
    if end is not None and (start is None or end <= start):
        raise RuleViolation("end_before_start", "结束时间须晚于开始时间 / the end must come after the start", "invalid")
    return {
        "start_time": start.strftime("%H:%M") if start else None,
        "end_time": end.strftime("%H:%M") if end else None,
    }


def check_outcome(status: str, outcome: str, participants: int | None) -> None:
    """An activity's outcome is recorded once; a held activity states its participants."""
    if status != "scheduled":
        raise RuleViolation("outcome_recorded", f"活动结果已登记（{status}）/ outcome already recorded")
    if outcome == "held" and participants is None:
        raise RuleViolation("participants_required", "已举办须填写参与人数 / held needs participants", "invalid")
