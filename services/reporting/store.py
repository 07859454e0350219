"""The reporting service's collections: entity states and per-scope counters (the projections), summaries, targets."""

from typing import Any

from pymongo import ASCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.domain.projection import (
    PROVINCE,
    Contribution,
    Fact,
    State,
    add_into,
    apply,
    contribution,
    difference,
    entity_key,
)
from shared.mongo import Document, Session

ENTITIES = "entities"  # one document per visit, venue, open day, booking, exhibit: its merged state
ACTIVITIES = "activities"  # the themed activities' states, apart: the calendar lists them on every dashboard read
ENTITY_COLLECTIONS = (ENTITIES, ACTIVITIES)
COUNTERS = "counters"  # one document per scope ("province", "city:450100", "day:2020-08-24", "zone:2", "unit:gxu")
SUMMARIES = "summaries"
TARGETS = "targets"  # targets an admin added (the programme's own come from configuration)
TARGET_STATE = "target_state"  # whether each target was behind pace at the last check
EVENTS = "events"
NOTIFICATIONS = "notifications"  # reminders and behind-pace notices: the feed, and their e-mail delivery
QUOTAS = "quotas"  # cities' visit quotas as volunteers last changed them (the programme file has the first)


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[ACTIVITIES].create_index([("city_code", ASCENDING), ("date", ASCENDING)])
    await db[NOTIFICATIONS].create_index([("audience", ASCENDING), ("created_at", ASCENDING)])
    await db[NOTIFICATIONS].create_index([("delivery", ASCENDING)])


def collection_of(key: str) -> str:
    """Where the entity with this key is stored (activities apart, for the calendar)."""
    return ACTIVITIES if key.startswith("activity:") else ENTITIES


def entity_document(key: str, state: dict[str, Any]) -> Document:
    """An entity's stored form: its state, plus the fields lists filter on at the top level."""
    return {
        "_id": key,
        "kind": state["kind"],
        "city_code": state.get("city_code"),
        "date": state.get("date") or state.get("visit_date"),
        "state": state,
    }


def nested(metrics: dict[str, int]) -> dict[str, Any]:
    """Dotted metric names ("activities.policy_lecture.held") as the nested document $inc builds."""
    out: dict[str, Any] = {}
    for name, value in metrics.items():
        *path, leaf = name.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def flat(doc: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """A counters document as dotted metric names, zeros left out (the inverse of `nested`)."""
    out: dict[str, int] = {}
    for name, value in doc.items():
        if name == "_id":
            continue
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{name}."))
        elif value:
            out[f"{prefix}{name}"] = int(value)
    return out


async def project(db: AsyncDatabase[Document], session: Session, facts: list[Fact]) -> None:
    """Apply facts in order: each entity they touch read once and written once, then one bulk $inc of the
    counters (an entity's counters move by what its state contributes after all its facts, less before)."""
    keys = [entity_key(fact) for fact in facts]
    before: dict[str, State | None] = dict.fromkeys(keys)
    for name in {collection_of(key) for key in keys}:
        wanted = [key for key in before if collection_of(key) == name]
        async for doc in db[name].find({"_id": {"$in": wanted}}, session=session):
            before[doc["_id"]] = doc["state"]
    after = dict(before)
    for key, fact in zip(keys, facts, strict=True):
        after[key] = apply(after[key], fact)
    changes: Contribution = {}
    writes: dict[str, list[ReplaceOne[Document]]] = {}
    for key, new in after.items():
        if new is not None and new != before[key]:
            writes.setdefault(collection_of(key), []).append(
                ReplaceOne({"_id": key}, entity_document(key, new), upsert=True)
            )
            add_into(changes, difference(contribution(before[key]), contribution(new)))
    for name, replacements in sorted(writes.items()):
        await db[name].bulk_write(replacements, ordered=True, session=session)
    # the province's event count is the dashboard's live-update version (a replay sets it to the events replayed)
    add_into(changes, {PROVINCE: {EVENTS: len(facts)}})
    nonzero = {scope: {m: v for m, v in metrics.items() if v} for scope, metrics in changes.items()}
    updates = [UpdateOne({"_id": scope}, {"$inc": m}, upsert=True) for scope, m in sorted(nonzero.items()) if m]
    await db[COUNTERS].bulk_write(updates, ordered=True, session=session)


async def counters(db: AsyncDatabase[Document], scopes: list[str]) -> dict[str, dict[str, int]]:
    """The counters of these scopes as dotted metric names (a missing scope is all zeros)."""
    found = {d["_id"]: flat(d) async for d in db[COUNTERS].find({"_id": {"$in": scopes}})}
    return {scope: found.get(scope, {}) for scope in scopes}


async def record_quota(db: AsyncDatabase[Document], session: Session, city_code: str, quota: int, at: Any) -> None:
    """Keep the latest quota of a city: an older change arriving late does not overwrite a newer one."""
    current = await db[QUOTAS].find_one({"_id": city_code}, session=session)
    if current is None or current["changed_at"] < at:
        doc = {"_id": city_code, "quota": quota, "changed_at": at}
        await db[QUOTAS].replace_one({"_id": city_code}, doc, upsert=True, session=session)


async def quotas(db: AsyncDatabase[Document]) -> dict[str, int]:
    """The quotas volunteers changed, by city (cities not in it keep the programme's)."""
    return {d["_id"]: int(d["quota"]) async for d in db[QUOTAS].find({})}


async def feed_version(db: AsyncDatabase[Document]) -> int:
    """How many events the projections have applied (changes whenever the dashboard should refresh)."""
    doc = await db[COUNTERS].find_one({"_id": PROVINCE}, {EVENTS: 1})
    return int(doc.get(EVENTS, 0)) if doc else 0
