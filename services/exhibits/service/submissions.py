"""Use cases of exhibitors: drafts, edits, submitting, confirming, withdrawing, media (one transaction each)."""

from typing import Any

from fastapi import UploadFile

from services.exhibits.domain import lifecycle
from services.exhibits.domain.lifecycle import Content
from services.exhibits.service.records import (
    emit_exhibit_event,
    load_in_scope,
    not_found,
    submission_view,
    with_booths,
)
from services.exhibits.store import SUBMISSIONS
from shared.auth import Principal
from shared.contracts.exhibits import ExhibitConfirmed, ExhibitSubmitted, ExhibitWithdrawn
from shared.http import AfterId, decode_cursor, encode_cursor, require_match
from shared.idempotency import scoped_key
from shared.media import IMAGES, VIDEOS, ensure_rendition, store_upload
from shared.mongo import Session
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

MAX_MEDIA = 12


def _zones(uow: UnitOfWork) -> dict[int, list[str]]:
    return {z.id: list(z.industries) for z in uow.programme.exhibition.zones}


def _city_of(uow: UnitOfWork, actor: Principal, named: str | None) -> str | None:
    """The account's city; an account without one (a department, a university) may name the city it shows for."""
    if actor.city is not None and named not in (None, actor.city):
        raise RuleViolation("city_mismatch", "城市须与账号一致 / the city must be your account's city", "invalid")
    city = actor.city or named
    if city is not None and uow.programme.city(city) is None:
        raise RuleViolation("unknown_city", f"未知的城市代码 / unknown city code {city}", "invalid")
    return city


def _organisation(actor: Principal) -> str:
    if actor.org is None:
        raise RuleViolation("no_organisation", "令牌缺少机构 / the token names no organisation", "forbidden")
    return actor.org


async def create(
    uow: UnitOfWork, content: Content, city_code: str | None, submit_now: bool, actor: Principal, key: str | None
) -> dict[str, Any]:
    """A new submission, kept as a draft or submitted at once."""
    org = _organisation(actor)
    now = uow.clock.now()
    lifecycle.check_content(content, _zones(uow))
    doc = lifecycle.new_draft(content, org, _city_of(uow, actor, city_code), actor.sub, now)

    async def txn(session: Session) -> dict[str, Any]:
        # Checked here, after the replay lookup: a retry after the deadline still gets its first answer.
        lifecycle.check_deadline(uow.programme.exhibition.submission_deadline, now)
        await uow.db[SUBMISSIONS].insert_one(doc, session=session)
        if not submit_now:
            return submission_view(doc)
        return await _submit(uow, doc, actor, session)

    body = {"content": lifecycle.content_fields(content), "city_code": city_code, "submit": submit_now}
    return await uow.commit_once(scoped_key(actor.sub, "create_submission", key), body, txn)


async def _submit(uow: UnitOfWork, doc: dict[str, Any], actor: Principal, session: Session) -> dict[str, Any]:
    change = lifecycle.transition(doc, "submitted", "exhibitor", actor.sub, uow.clock.now())
    change["$set"]["submitted_at"] = change["$set"]["updated_at"]
    return await _apply(uow, doc, change, session, [(ExhibitSubmitted, {"title": doc["title"]})])


async def _apply(
    uow: UnitOfWork,
    doc: dict[str, Any],
    change: dict[str, Any],
    session: Session,
    events: list[tuple[type[Any], dict[str, Any]]],
) -> dict[str, Any]:
    """Write `change` if nobody changed `doc` meanwhile, with its events; the new view."""
    done = await uow.db[SUBMISSIONS].update_one({"_id": doc["_id"], "version": doc["version"]}, change, session=session)
    if done.modified_count != 1:
        raise RuleViolation("concurrent_change", "申报刚被修改，请重试 / changed meanwhile, retry")
    fresh = await uow.db[SUBMISSIONS].find_one({"_id": doc["_id"]}, session=session)
    assert fresh is not None
    for contract, extra in events:
        await emit_exhibit_event(uow, session, contract, fresh, **extra)
    return submission_view(fresh)


async def update(
    uow: UnitOfWork, exhibit_id: str, content: Content, actor: Principal, if_match: str | None
) -> dict[str, Any]:
    """Edit a draft or a submission not yet under review (If-Match)."""
    lifecycle.check_content(content, _zones(uow))

    async def txn(session: Session) -> dict[str, Any]:
        doc = await _own(uow, exhibit_id, actor, session)
        require_match(if_match, doc["version"])
        lifecycle.check_edit(doc, content)
        lifecycle.check_deadline(uow.programme.exhibition.submission_deadline, uow.clock.now())
        change = {
            "$set": {**lifecycle.content_fields(content), "version": doc["version"] + 1, "updated_at": uow.clock.now()}
        }
        return await _apply(uow, doc, change, session, [])

    return await uow.commit(txn)


async def _own(uow: UnitOfWork, exhibit_id: str, actor: Principal, session: Session) -> dict[str, Any]:
    doc = await load_in_scope(uow, exhibit_id, actor, session)
    if actor.role != "exhibitor":
        raise not_found()
    return doc


async def submit(uow: UnitOfWork, exhibit_id: str, actor: Principal) -> dict[str, Any]:
    """Submit a draft for review; submitting again is a no-op."""

    async def txn(session: Session) -> dict[str, Any]:
        doc = await _own(uow, exhibit_id, actor, session)
        if doc["status"] != "draft" and any(step["status"] == "submitted" for step in doc["history"]):
            return submission_view(doc)
        lifecycle.check_deadline(uow.programme.exhibition.submission_deadline, uow.clock.now())
        return await _submit(uow, doc, actor, session)

    return await uow.commit(txn)


async def confirm(uow: UnitOfWork, exhibit_id: str, actor: Principal) -> dict[str, Any]:
    """The exhibitor confirms an accepted exhibit will be shown; confirming again is a no-op."""
    return await _exhibitor_step(uow, exhibit_id, actor, "confirmed", ExhibitConfirmed, {"decided_by": actor.sub})


async def withdraw(uow: UnitOfWork, exhibit_id: str, actor: Principal) -> dict[str, Any]:
    """The exhibitor withdraws; the exhibit leaves the catalogue at once."""
    return await _exhibitor_step(uow, exhibit_id, actor, "withdrawn", ExhibitWithdrawn, {})


async def _exhibitor_step(
    uow: UnitOfWork, exhibit_id: str, actor: Principal, to: str, contract: type[Any], extra: dict[str, Any]
) -> dict[str, Any]:
    async def txn(session: Session) -> dict[str, Any]:
        doc = await _own(uow, exhibit_id, actor, session)
        if doc["status"] == to:
            return submission_view(doc)
        change = lifecycle.transition(doc, to, "exhibitor", actor.sub, uow.clock.now())
        if to == "withdrawn":
            change["$set"]["listed"] = False
            change["$unset"] = {"search_terms": "", "title_terms": ""}
        return await _apply(uow, doc, change, session, [(contract, extra)])

    return await uow.commit(txn)


async def get(uow: UnitOfWork, exhibit_id: str, actor: Principal) -> dict[str, Any]:
    """One submission as the caller may see it, with its booth in the latest release."""
    view = submission_view(await load_in_scope(uow, exhibit_id, actor), actor.role)
    return (await with_booths(uow, [view]))[0]


async def list_submissions(
    uow: UnitOfWork, actor: Principal, status: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """The organisation's submissions (admin: all), oldest id first, by opaque cursor."""
    query: dict[str, Any] = {} if actor.role == "admin" else {"org_id": _organisation(actor)}
    if status is not None:
        query["status"] = status
    if cursor is not None:
        query["_id"] = {"$gt": decode_cursor(cursor, AfterId).after}
    docs = await uow.db[SUBMISSIONS].find(query, sort=[("_id", 1)], limit=limit + 1).to_list()
    page = docs[:limit]
    following = encode_cursor({"after": page[-1]["_id"]}) if len(docs) > limit else None
    items = await with_booths(uow, [submission_view(d, actor.role) for d in page])
    return {"items": items, "next_cursor": following}


async def add_media(
    uow: UnitOfWork, exhibit_id: str, file_id: str, upload: UploadFile, caption: str, actor: Principal
) -> tuple[dict[str, Any], bool]:
    """Attach an image or video (checked by content and size); the same file id again is a no-op.

    An image gets its downscaled rendition for phones here, once (its sizes go into the media item).

    The submission as it stands, and whether this call attached the file (False for a repeat).
    """

    async def check(session: Session) -> dict[str, Any]:
        doc = await _own(uow, exhibit_id, actor, session)
        lifecycle.check_editable(doc)
        if len(doc["media"]) >= MAX_MEDIA and file_id not in {m["id"] for m in doc["media"]}:
            raise RuleViolation("too_many_media", f"最多 {MAX_MEDIA} 个文件 / at most {MAX_MEDIA} files")
        return doc

    await uow.commit(check)
    stored = await store_upload(
        uow.db,
        upload,
        file_id=f"{exhibit_id}/{file_id}",
        allowed=IMAGES | VIDEOS,
        max_bytes=uow.settings.exhibits_media_max_bytes,
        metadata={"exhibit_id": exhibit_id, "org_id": actor.org},
    )
    item: dict[str, Any] = {**stored, "id": file_id, "caption": caption.strip()}
    if stored["content_type"] in IMAGES:
        item["sizes"] = await ensure_rendition(uow.db, f"{exhibit_id}/{file_id}")

    async def attach(session: Session) -> tuple[dict[str, Any], bool]:
        doc = await _own(uow, exhibit_id, actor, session)
        if file_id not in {m["id"] for m in doc["media"]}:
            change = {"$push": {"media": item}, "$set": {"version": doc["version"] + 1, "updated_at": uow.clock.now()}}
            return await _apply(uow, doc, change, session, []), True
        return submission_view(doc), False

    return await uow.commit(attach)
