"""The commissioners' phone: single operations, offline batches applied exactly once, and delta sync."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.volunteers.domain import assignments as dispatch_rules
from services.volunteers.domain import events
from services.volunteers.domain import field as rules
from services.volunteers.service.dispatch import hold_day, release_day
from services.volunteers.service.views import assignment_view, household_view, not_found, village_view
from services.volunteers.store import ASSIGNMENTS, COMMISSIONERS, FLAGS, HOUSEHOLDS, SYNC_OPS, VILLAGES
from shared.auth import Principal
from shared.http import lost_update, require_match
from shared.idempotency import request_fingerprint
from shared.mongo import Session
from shared.problems import bounded_errors
from shared.rules import Kind, RuleViolation
from shared.times import Instant
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RawOperation:
    """An operation as the phone sent it; the payload is checked per operation, not per batch."""

    op_id: str
    type: rules.OpType
    assignment_id: str
    device_time: datetime
    payload: dict[str, Any]


def parse(raw: RawOperation) -> rules.Operation:
    model = rules.PAYLOADS[raw.type]
    payload: BaseModel | None = model.model_validate(raw.payload) if model is not None else None
    return rules.Operation(raw.op_id, raw.type, raw.assignment_id, raw.device_time, payload)


NEW_OP_ID = "更正后请用新的操作编号重发 / send the corrected operation under a new op_id"


def _rejected(raw: RawOperation, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """A refused operation; its op_id stays bound to it, so a corrected one must come under a new op_id."""
    result = {"op_id": raw.op_id, "assignment_id": raw.assignment_id, "status": "rejected", "code": code}
    return {**result, "message": f"{message}。{NEW_OP_ID}", "retry_with_new_op_id": True, **extra}


class FieldSession:
    """Applies one caller's operations inside one transaction."""

    def __init__(self, uow: UnitOfWork, session: Session, actor: Principal) -> None:
        self.uow = uow
        self.session = session
        self.actor = actor
        self.now = uow.clock.now()
        self.docs: dict[str, dict[str, Any]] = {}
        self.villages: dict[str, dict[str, Any]] = {}
        self.households: dict[str, frozenset[str]] = {}  # village code -> its household ids
        self.late: list[tuple[dict[str, Any], int, str]] = []  # (visit, hours late, op_id) of this batch
        # written once per batch by `finish`, not once per operation: the version each changed visit was read at,
        # the flags raised and the events, in the order of the operations
        self.read_versions: dict[str, int] = {}
        self.commissioners: dict[str, dict[str, Any] | None] = {}
        self.flags: list[dict[str, Any]] = []
        self.events: list[tuple[BaseModel, str | None]] = []

    async def preload(self, assignment_ids: list[str]) -> None:
        """Read the caller's assignments the operations name, and their villages, in two queries."""
        db, session = self.uow.db, self.session
        found = db[ASSIGNMENTS].find({"_id": {"$in": assignment_ids}}, session=session)  # by _id alone: indexed
        sub = self.actor.sub
        self.docs.update(
            {
                d["_id"]: d
                async for d in found
                if sub == d["commissioner_id"] or sub in d.get("previous_commissioner_ids", [])
            }
        )
        codes = list({d["village_code"] for d in self.docs.values()} - set(self.villages))
        # reference data no operation writes: read outside the transaction, where a statement costs the server less
        self.villages.update({v["_id"]: v async for v in db[VILLAGES].find({"_id": {"$in": codes}})})
        members: dict[str, set[str]] = {code: set() for code in codes}
        async for h in db[HOUSEHOLDS].find({"village_code": {"$in": codes}}, {"village_code": 1}):
            members[h["village_code"]].add(h["_id"])
        self.households.update({code: frozenset(ids) for code, ids in members.items()})

    async def apply(self, raw: RawOperation) -> dict[str, Any]:
        try:
            op = parse(raw)
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            return _rejected(
                raw, "validation_error", "操作内容无效 / invalid payload", **bounded_errors(errors, "type")
            )
        if op.assignment_id not in self.docs:
            await self.preload([op.assignment_id])
        doc = self.docs.get(op.assignment_id)
        if doc is None:
            return _rejected(raw, "assignment_not_found", "不存在或无权查看 / no such assignment")
        if doc["commissioner_id"] != self.actor.sub:  # the coordinator gave it to someone else meanwhile
            return _rejected(raw, "reassigned", "协调员已将该走访改派给他人 / the visit was reassigned to someone else")
        try:
            outcome = rules.apply_operation(doc, op, self._context(doc))
            if outcome.doc is not None:
                await self._adjust_day(doc, outcome.doc)
        except RuleViolation as exc:
            return _rejected(raw, exc.code, exc.message)
        if outcome.doc is not None:
            await self._store(doc, outcome, raw.op_id)
            self.docs[op.assignment_id] = outcome.doc
            if outcome.late_hours is not None:
                self.late.append((outcome.doc, outcome.late_hours, raw.op_id))
        current = outcome.doc or doc
        result: dict[str, Any] = {
            "op_id": raw.op_id,
            "assignment_id": raw.assignment_id,
            "status": outcome.status,
            "code": outcome.code,
        }
        result["message"] = outcome.message
        if outcome.status == "conflict":  # what the server kept instead of the phone's report
            result["kept_report"] = current.get("report")
        return {**result, "assignment": _summary(current)}

    def _context(self, doc: dict[str, Any]) -> rules.FieldContext:
        village = self.villages.get(doc["village_code"])
        s = self.uow.settings
        return rules.FieldContext(
            now=self.now,
            village_location=(village["lat"], village["lon"]) if village else None,
            geofence_m=s.volunteers_geofence_m,
            max_accuracy_m=s.volunteers_max_gps_accuracy_m,
            late_after=timedelta(hours=s.volunteers_late_sync_hours),
            village_households=self.households.get(doc["village_code"], frozenset()),
        )

    async def _adjust_day(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        held, holds = old["status"] in dispatch_rules.HOLDS_DAY, new["status"] in dispatch_rules.HOLDS_DAY
        if held and not holds:
            await release_day(self.uow, self.session, old["commissioner_id"], old["visit_date"])
        elif holds and not held:
            commissioner = self.commissioners.get(old["commissioner_id"])
            if commissioner is None:  # read once per batch
                commissioner = await self.uow.db[COMMISSIONERS].find_one({"_id": old["commissioner_id"]})
                self.commissioners[old["commissioner_id"]] = commissioner
            if commissioner is not None:  # re-accepting must fit the day; a visit that happened just counts
                enforce = new["status"] == "accepted"
                await hold_day(self.uow, self.session, commissioner, old["visit_date"], enforce)

    async def _store(self, old: dict[str, Any], outcome: rules.Outcome, op_id: str) -> None:
        assert outcome.doc is not None
        new = outcome.doc
        self.read_versions.setdefault(old["_id"], old["version"])
        self.events += [(data, events.subject(new)) for data in outcome.events]
        for flag, detail in outcome.flags:
            self._raise_flag(new, flag, detail, op_id)

    async def finish(self) -> None:
        """Write each changed visit once, then the batch's flags and events (one late-sync flag for the whole batch,
        on its latest operation's visit, not one per visit)."""
        if self.late:
            doc, hours, op_id = max(self.late, key=lambda late: late[1])
            n = len(self.late)
            detail = f"本批 {n} 个操作同步晚了，最多 {hours} 小时 / {n} operations synced up to {hours} h late"
            self._raise_flag(doc, "late_sync", detail, op_id)
        if self.read_versions:  # one statement for the batch's visits, each replaced at the version it was read at
            replaced = [
                ReplaceOne({"_id": assignment_id, "version": version}, self.docs[assignment_id])
                for assignment_id, version in self.read_versions.items()
            ]
            done = await self.uow.db[ASSIGNMENTS].bulk_write(replaced, ordered=True, session=self.session)
            if done.modified_count != len(replaced):  # one changed since it was read: no event may go out for it
                raise lost_update(None)
        if self.flags:
            await self.uow.db[FLAGS].insert_many(self.flags, session=self.session)
        await self.uow.events.emit_all(self.session, self.events)

    def _raise_flag(self, doc: dict[str, Any], flag: str, detail: str, op_id: str) -> None:
        self.flags.append(
            {
                "_id": str(uuid.uuid4()),
                "op_id": op_id,
                "assignment_id": doc["_id"],
                "city_code": doc["city_code"],
                "commissioner_id": doc["commissioner_id"],
                "flag": flag,
                "detail": detail,
                "resolved": False,
                "created_at": self.now,
            }
        )
        self.events.append((events.visit_flagged(doc, flag, detail), events.subject(doc)))


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "status": doc["status"],
        "version": doc["version"],
        "report_version": doc["report_version"],
        "visit_date": doc["visit_date"],
    }


async def sync_batch(uow: UnitOfWork, actor: Principal, ops: list[RawOperation]) -> list[dict[str, Any]]:
    """Apply `ops` in order, each exactly once: a replayed operation returns its first result."""

    async def txn(session: Session) -> list[dict[str, Any]]:
        field = FieldSession(uow, session, actor)
        keys = [f"{actor.sub}:{op.op_id}" for op in ops]
        # read outside the transaction: a record committed meanwhile makes the insert below collide, and the
        # batch runs again and replays it
        prior = {d["_id"]: d async for d in uow.db[SYNC_OPS].find({"_id": {"$in": keys}})}
        await field.preload(list({op.assignment_id for op, key in zip(ops, keys, strict=True) if key not in prior}))
        results, records = [], []
        for key, op in zip(keys, ops, strict=True):
            fingerprint = request_fingerprint(op.__dict__)
            if key in prior:
                results.append(_replayed(op, prior[key], fingerprint))
                continue
            result = await field.apply(op)
            prior[key] = {"_id": key, "fingerprint": fingerprint, "result": result, "created_at": field.now}
            records.append(prior[key])
            results.append(result)
        await field.finish()
        if records:
            await uow.db[SYNC_OPS].insert_many(records, session=session)
        return results

    try:
        return await uow.commit(txn)
    except (DuplicateKeyError, BulkWriteError) as exc:  # the same batch, resent, committed first: now it replays
        if isinstance(exc, BulkWriteError) and not _duplicates_only(exc):
            raise
        return await uow.commit(txn)


def _duplicates_only(exc: BulkWriteError) -> bool:
    """The records' insert collided with records already there (code 11000), and failed for nothing else."""
    errors = exc.details.get("writeErrors", [])
    return bool(errors) and all(e.get("code") == 11000 for e in errors)


def _replayed(op: RawOperation, prior: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    if prior["fingerprint"] != fingerprint:
        return _rejected(op, "op_id_reused", "操作编号已用于另一个操作 / op_id already used for another operation")
    return {**prior["result"], "replayed": True}


SYNC_GRACE = timedelta(seconds=30)  # a transaction may commit this long after the time it stamped
SYNC_PAGE = 200


class SyncCursor(BaseModel):
    """The delta sync's cursor: changes since `since`; within a page run, after (`after_t`, `after_id`)."""

    since: Instant
    after_t: Instant | None = None
    after_id: str = Field(default="", max_length=200)


async def changes_since(uow: UnitOfWork, actor: Principal, state: SyncCursor | None) -> dict[str, Any]:
    """Everything about the caller's visits changed since the cursor, with what the visit needs offline."""
    started = uow.clock.now()
    query: dict[str, Any] = {"$or": [{"commissioner_id": actor.sub}, {"previous_commissioner_ids": actor.sub}]}
    if state is not None:
        query = {"$and": [query, _cursor_filter(uow, state, started)]}
    docs = await uow.db[ASSIGNMENTS].find(query, sort=[("updated_at", 1), ("_id", 1)], limit=SYNC_PAGE + 1).to_list()
    more = len(docs) > SYNC_PAGE
    docs = docs[:SYNC_PAGE]
    live = [d for d in docs if d["commissioner_id"] == actor.sub and d["status"] != "cancelled"]
    gone = [d for d in docs if d not in live]
    if more:
        last = docs[-1]
        cursor = {"after_t": last["updated_at"].isoformat(), "after_id": last["_id"], "since": _since(state, started)}
    else:
        cursor = {"since": (started - SYNC_GRACE).isoformat()}
    return {
        "assignments": await _with_reference(uow, live),
        "tombstones": [{"id": d["_id"], "status": d["status"], "version": d["version"]} for d in gone],
        "cursor": cursor,
        "has_more": more,
    }


def _since(state: SyncCursor | None, started: datetime) -> str:
    return state.since.isoformat() if state else (started - SYNC_GRACE).isoformat()


def _cursor_filter(uow: UnitOfWork, state: SyncCursor, now: datetime) -> dict[str, Any]:
    if now - state.since > timedelta(days=uow.settings.volunteers_sync_cursor_max_age_days):
        raise RuleViolation("cursor_expired", "游标已过期，请全量同步 / cursor too old: resync from scratch", "gone")
    after = state.after_t
    if after is None:
        return {"updated_at": {"$gte": state.since}}
    return {"$or": [{"updated_at": {"$gt": after}}, {"updated_at": after, "_id": {"$gt": state.after_id}}]}


async def _with_reference(uow: UnitOfWork, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    villages = {
        d["_id"]: village_view(d)
        async for d in uow.db[VILLAGES].find({"_id": {"$in": [a["village_code"] for a in docs]}})
    }
    # every household of the visits' villages: the report may name one met on the day besides the assigned ones
    households: dict[str, dict[str, Any]] = {}
    of_village: dict[str, list[dict[str, Any]]] = {}
    async for d in uow.db[HOUSEHOLDS].find({"village_code": {"$in": list(villages)}}, sort=[("_id", 1)]):
        households[d["_id"]] = household_view(d)
        of_village.setdefault(d["village_code"], []).append(households[d["_id"]])
    return [
        {
            **assignment_view(a),
            "village": _with_households(villages.get(a["village_code"]), of_village),
            "households": [households[h] for h in a["household_ids"] if h in households],
        }
        for a in docs
    ]


def _with_households(village: dict[str, Any] | None, of_village: dict[str, list[dict[str, Any]]]) -> Any:
    return None if village is None else {**village, "households": of_village.get(village["code"], [])}


REJECTION_KIND: dict[str, Kind] = {
    "assignment_not_found": "not_found",
    "validation_error": "invalid",
    "unknown_household": "invalid",
}


async def single_operation(
    uow: UnitOfWork, actor: Principal, raw: RawOperation, key: str | None, if_match: str | None = None
) -> dict[str, Any]:
    """One operation over HTTP: a rejection or conflict is an error response (the phone is online to see it)."""

    async def txn(session: Session) -> dict[str, Any]:
        op = raw
        if raw.type == "edit_report":
            doc = await uow.db[ASSIGNMENTS].find_one(
                {"_id": raw.assignment_id, "commissioner_id": actor.sub}, session=session
            )
            if doc is None:
                raise not_found()
            require_match(if_match, doc["report_version"])
            op = RawOperation(
                raw.op_id,
                raw.type,
                raw.assignment_id,
                raw.device_time,
                {"base_version": doc["report_version"], "report": raw.payload},
            )
        field = FieldSession(uow, session, actor)
        result = await field.apply(op)
        await field.finish()
        if result["status"] == "rejected":
            kind = REJECTION_KIND.get(result["code"], "conflict")
            raise RuleViolation(result["code"], result["message"], kind, errors=result.get("errors", []))
        if result["status"] == "conflict":
            raise RuleViolation(
                "already_completed", "该走访已有报告，修改请带 If-Match / edit the report with If-Match"
            )
        doc = await uow.db[ASSIGNMENTS].find_one({"_id": raw.assignment_id}, session=session)
        assert doc is not None
        return assignment_view(doc)

    scoped = f"{actor.sub}:{raw.type}:{raw.assignment_id}:{key}" if key else None
    body = {"payload": raw.payload, "if_match": if_match}
    return await uow.commit_once(scoped, body, txn)
