"""Rebuild the projections by replaying the stored event log (the inbox) into fresh collections."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting import store
from services.reporting.consumers import fact_of
from services.reporting.domain.projection import KINDS_BY_TYPE, PROVINCE, State, merge_into, totals_of
from shared.contracts import validate_data
from shared.contracts.volunteers import QuotaChanged
from shared.envelope import Envelope
from shared.idempotency import INBOX
from shared.mongo import Document

REBUILT = {name: f"rebuilt_{name}" for name in (*store.ENTITY_COLLECTIONS, store.COUNTERS, store.QUOTAS)}
CHUNK = 5000
QUOTA_CHANGED = "volunteers.quota.changed.v1"  # not a projection kind: the latest change per city is kept


@dataclass
class Rebuild:
    """What a replay did: events read, documents written, and how the result differs from the live one."""

    events: int = 0
    entities: int = 0
    scopes: int = 0
    differences: list[str] = field(default_factory=list)
    swapped: bool = False

    @property
    def identical(self) -> bool:
        return not self.differences


async def count_events(db: AsyncDatabase[Document]) -> int:
    """How many stored events a replay will read."""
    return await db[INBOX].count_documents({"type": {"$in": list(KINDS_BY_TYPE)}})


async def rebuild(
    db: AsyncDatabase[Document], *, swap: bool = False, progress: Callable[[int], None] | None = None
) -> Rebuild:
    """Replay the inbox into `rebuilt_*`, compare with the live projections, and swap them in if asked.

    Swapping while events are still being consumed would drop those applied meanwhile: stop the
    consumer first (or swap only when the comparison shows the live projections drifted).
    """
    result = Rebuild()
    states: dict[str, State] = {}
    cursor = db[INBOX].find({"type": {"$in": list(KINDS_BY_TYPE)}}, sort=[("time", ASCENDING)], batch_size=CHUNK)
    async for doc in cursor:
        event = Envelope.model_validate(doc["event"])
        merge_into(states, fact_of(event, validate_data(event.type, event.data)))
        result.events += 1
        if progress is not None and result.events % 1000 == 0:
            progress(1000)
    if progress is not None:
        progress(result.events % 1000)
    totals = totals_of(states.values())
    if result.events:
        totals.setdefault(PROVINCE, {})[store.EVENTS] = result.events
    result.entities, result.scopes = len(states), len(totals)
    for name in store.ENTITY_COLLECTIONS:
        docs = [store.entity_document(k, s) for k, s in states.items() if store.collection_of(k) == name]
        await _write(db, REBUILT[name], docs)
    await _write(db, REBUILT[store.COUNTERS], [{"_id": scope, **store.nested(m)} for scope, m in totals.items()])
    await _write(db, REBUILT[store.QUOTAS], await _latest_quotas(db))
    result.differences = await compare(db)
    if swap:
        for live, rebuilt in REBUILT.items():
            await db[rebuilt].rename(live, dropTarget=True)
        await store.ensure_indexes(db)
        result.swapped = True
    return result


async def _write(db: AsyncDatabase[Document], name: str, docs: list[Document]) -> None:
    await db[name].drop()
    await db.create_collection(name)  # also when empty: the swap renames it over the live one
    for start in range(0, len(docs), CHUNK):
        await db[name].insert_many(docs[start : start + CHUNK], ordered=False)


async def compare(db: AsyncDatabase[Document]) -> list[str]:
    """Where the rebuilt projections differ from the live ones (empty when they are identical)."""
    differences: list[str] = []
    for live, rebuilt in REBUILT.items():
        normalise: Callable[[Document], dict[str, Any]] = {store.COUNTERS: store.flat, store.QUOTAS: _quota}.get(
            live, _entity
        )
        mine = {d["_id"]: normalise(d) async for d in db[live].find({})}
        theirs = {d["_id"]: normalise(d) async for d in db[rebuilt].find({})}
        for key in sorted(mine.keys() | theirs.keys()):
            if mine.get(key, {}) != theirs.get(key, {}):
                differences.append(f"{live}/{key}: live {mine.get(key)} != rebuilt {theirs.get(key)}")
    return differences


async def _latest_quotas(db: AsyncDatabase[Document]) -> list[Document]:
    """Each city's quota as its latest change set it (whatever order the changes were delivered in)."""
    latest: dict[str, Document] = {}
    async for doc in db[INBOX].find({"type": QUOTA_CHANGED}):
        data = QuotaChanged.model_validate(doc["event"]["data"])
        known = latest.get(data.city_code)
        if known is None or known["changed_at"] < data.changed_at:
            latest[data.city_code] = {"_id": data.city_code, "quota": data.quota, "changed_at": data.changed_at}
    return list(latest.values())


def _quota(doc: dict[str, Any]) -> dict[str, Any]:
    return {"quota": doc["quota"], "changed_at": doc["changed_at"]}


def _entity(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc["state"])
