"""The notices' feed, and their delivery by e-mail (at least once: a crash mid-send may send one twice)."""

import asyncio
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from services.reporting import store
from shared.auth import Principal
from shared.http import decode_cursor, encode_cursor
from shared.times import Instant
from shared.unit_of_work import UnitOfWork

CLAIM_TIMEOUT = timedelta(minutes=2)  # a notice claimed this long ago by a replica that died is sent again
BATCH = 20


def audiences_of(principal: Principal) -> list[str] | None:
    """The feeds a caller reads (None: every feed): a city's coordinator also sees the province's notices."""
    if principal.role == "admin":
        return None
    if principal.role == "city":
        return [f"city:{principal.city}", "province"]
    return [f"unit:{principal.org}"]


class TimeAndId(BaseModel):
    """The feed's cursor: the time and id of the last notice shown."""

    t: Instant
    id: str = Field(max_length=200)


async def feed(uow: UnitOfWork, principal: Principal, cursor: str | None, limit: int) -> dict[str, Any]:
    """The caller's notices, newest first."""
    audiences = audiences_of(principal)
    query: dict[str, Any] = {} if audiences is None else {"audience": {"$in": audiences}}
    if cursor:
        after = decode_cursor(cursor, TimeAndId)
        query["$or"] = [{"created_at": {"$lt": after.t}}, {"created_at": after.t, "_id": {"$lt": after.id}}]
    docs = await uow.db[store.NOTIFICATIONS].find(query, sort=[("created_at", -1), ("_id", -1)], limit=limit).to_list()
    items = [{"id": d.pop("_id"), **d} for d in docs]
    nxt = encode_cursor({"t": docs[-1]["created_at"], "id": items[-1]["id"]}) if len(docs) == limit else None
    return {"items": items, "next_cursor": nxt}


async def deliver(uow: UnitOfWork) -> None:
    """Periodic job: e-mail the pending notices to their audience's recipients."""
    server = uow.settings.reporting_notify_smtp
    if server is None:
        return
    now = uow.clock.now()
    notices = uow.db[store.NOTIFICATIONS]
    due = {"$or": [{"delivery": "pending"}, {"delivery": "sending", "claimed_at": {"$lt": now - CLAIM_TIMEOUT}}]}
    for doc in await notices.find(due, limit=BATCH).to_list():
        claimed = await notices.update_one(
            {"_id": doc["_id"], "delivery": doc["delivery"]}, {"$set": {"delivery": "sending", "claimed_at": now}}
        )
        if claimed.modified_count != 1:  # another replica has it
            continue
        recipients = uow.settings.reporting_notify_recipients.get(doc["audience"], [])
        if recipients:
            await asyncio.to_thread(_send, server, uow.settings.reporting_notify_from, recipients, doc)
        outcome = "sent" if recipients else "no_recipient"
        await notices.update_one({"_id": doc["_id"]}, {"$set": {"delivery": outcome, "delivered_at": uow.clock.now()}})


def _send(server: str, sender: str, recipients: list[str], doc: dict[str, Any]) -> None:
    parts = urlsplit(server)
    message = EmailMessage()
    message["Subject"] = doc["title"]
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(doc["body"])
    with smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=30) as smtp:
        smtp.send_message(message)
