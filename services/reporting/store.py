"""The reporting service's collections: entity states and per-scope counters (the projections), summaries, targets."""

from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.domain.projection import (
    PROVINCE,
    Contribution,
    Fact,
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


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[ACTIVITIES].create_index([("city_code", ASCENDING), ("date", ASCENDING)])


def collection_of(state: dict[str, Any]) -> str:
    return ACTIVITIES if state["kind"] == "activity" else ENTITIES


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


async def project(db: AsyncDatabase[Document], session: Session, fact: Fact) -> None:
    """Apply one fact: its entity read and written, then one bulk $inc of the counters of its scopes."""
    key = entity_key(fact)
    collection = db[ACTIVITIES if key.startswith("activity:") else ENTITIES]
    doc = await collection.find_one({"_id": key}, session=session)
    old = doc["state"] if doc else None
    new = apply(old, fact)
    changes: Contribution = {}
    if new != old:
        await collection.replace_one({"_id": key}, entity_document(key, new), upsert=True, session=session)
        changes = difference(contribution(old), contribution(new))
    # the province's event count is the dashboard's live-update version (a replay sets it to the events replayed)
    changes.setdefault(PROVINCE, {})[EVENTS] = 1
    updates = [UpdateOne({"_id": scope}, {"$inc": metrics}, upsert=True) for scope, metrics in sorted(changes.items())]
    await db[COUNTERS].bulk_write(updates, ordered=True, session=session)


async def counters(db: AsyncDatabase[Document], scopes: list[str]) -> dict[str, dict[str, int]]:
    """The counters of these scopes as dotted metric names (a missing scope is all zeros)."""
    found = {d["_id"]: flat(d) async for d in db[COUNTERS].find({"_id": {"$in": scopes}})}
    return {scope: found.get(scope, {}) for scope in scopes}


async def feed_version(db: AsyncDatabase[Document]) -> int:
    """How many events the projections have applied (changes whenever the dashboard should refresh)."""
    doc = await db[COUNTERS].find_one({"_id": PROVINCE}, {EVENTS: 1})
    return int(doc.get(EVENTS, 0)) if doc else 0
