"""The public activity calendar (活动日历): the cities' themed activities by day and city, and a feed per city."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.registration.domain.calendar import CalendarEntry, ics_feed
from services.registration.store import ACTIVITIES
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

WEEKDAYS = "一二三四五六日"
PUBLIC = ("title", "activity_type", "city_code", "date", "start_time", "end_time", "place", "organiser", "online_url")


def _public(uow: UnitOfWork, doc: dict[str, Any]) -> dict[str, Any]:
    """What the public sees of an activity: never who typed it in, nor its photos."""
    programme = uow.programme
    city = programme.city(doc["city_code"])
    unit = programme.unit(doc["org_id"]) if doc.get("org_id") else None
    types = {a.code: a.name for a in programme.activities}
    organiser = doc.get("organiser") or (unit.name if unit else f"{city.name if city else doc['city_code']}市")
    return {
        "id": doc["_id"],
        **{k: doc.get(k) for k in PUBLIC},
        "type_name": types.get(doc["activity_type"], doc["activity_type"]),
        "city_name": city.name if city else doc["city_code"],
        "organiser": organiser,
        "status": doc["status"],
        "participants": doc.get("participants") if doc["status"] == "held" else None,
        "reason": doc.get("reason") if doc["status"] == "cancelled" else None,
        "version": doc.get("version", 1),
        "stamp": doc.get("outcome_at") or doc.get("created_at"),
    }


def _day_label(day: date) -> str:
    return f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"


def _check_city(uow: UnitOfWork, city: str | None) -> None:
    if city is not None and uow.programme.city(city) is None:
        raise RuleViolation("unknown_city", f"未知的城市代码 / unknown city code {city}", "not_found")


async def _activities(uow: UnitOfWork, query: dict[str, Any]) -> list[dict[str, Any]]:
    order = {c.code: n for n, c in enumerate(uow.programme.cities)}
    docs = await uow.db[ACTIVITIES].find(query, sort=[("date", 1), ("_id", 1)]).to_list()
    docs.sort(key=lambda d: (d["date"], order.get(d["city_code"], 99), d.get("start_time") or "", d["title"]))
    return [_public(uow, d) for d in docs]


async def calendar(uow: UnitOfWork, city: str | None, activity_type: str | None, day: date | None) -> dict[str, Any]:
    """The week's activities matching the filters, by day then city, and the programme's days, cities and types."""
    _check_city(uow, city)
    query = {k: v for k, v in (("city_code", city), ("activity_type", activity_type)) if v}
    if day is not None:
        query["date"] = day.isoformat()
    by_day: dict[str, list[dict[str, Any]]] = {}
    for item in await _activities(uow, query):
        by_day.setdefault(item["date"], []).append(item)
    programme = uow.programme
    days = [programme.start + timedelta(days=n) for n in range((programme.end - programme.start).days + 1)]
    return {
        "days": [{"date": d.isoformat(), "label": _day_label(d)} for d in days],
        "groups": [
            {"date": d, "label": _day_label(date.fromisoformat(d)), "activities": items}
            for d, items in sorted(by_day.items())
        ],
        "count": sum(len(items) for items in by_day.values()),
        "cities": [(c.code, c.name) for c in programme.cities],
        "types": [(a.code, a.name) for a in programme.activities],
    }


def _entry(item: dict[str, Any], page: str) -> CalendarEntry:
    lines = [f"类型：{item['type_name']}", f"主办：{item['organiser']}", f"城市：{item['city_name']}"]
    if item["online_url"]:
        lines.append(f"线上参与：{item['online_url']}")
    if item["participants"] is not None:
        lines.append(f"已举办，参与 {item['participants']} 人")
    if item["reason"]:
        lines.append(f"已取消：{item['reason']}")
    lines.append(f"活动日历：{page}")
    start, end = item["start_time"], item["end_time"]
    stamp = item["stamp"] if isinstance(item["stamp"], datetime) else datetime(2000, 1, 1, tzinfo=UTC)
    return CalendarEntry(
        uid=f"{item['id']}@sciweek",
        title=f"【{item['type_name']}】{item['title']}",
        day=date.fromisoformat(item["date"]),
        start=time.fromisoformat(start) if start else None,
        end=time.fromisoformat(end) if end else None,
        place=item["place"] or ("线上" if item["online_url"] else item["city_name"]),
        description="\n".join(lines),
        url=item["online_url"] or page,
        cancelled=item["status"] == "cancelled",
        sequence=int(item["version"]) - 1,
        stamp=stamp,
    )


async def city_feed(uow: UnitOfWork, city: str | None, page: str) -> str:
    """The iCalendar feed of one city's activities (every city's with None); `page` is the calendar's address."""
    _check_city(uow, city)
    items = await _activities(uow, {"city_code": city} if city else {})
    programme = uow.programme
    name = f"{programme.city(city).name if city else '全区'} · {programme.name}活动日历"  # type: ignore[union-attr]
    return ics_feed(name, [_entry(item, page) for item in items], programme.timezone)
