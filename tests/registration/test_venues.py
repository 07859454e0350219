"""Venues, their review by the city, and open days: scope, publication, edits with If-Match."""

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from services.registration.main import create_app
from services.registration.service import opendays, venues
from services.registration.store import OPENDAYS, VENUES
from shared.outbox import OUTBOX
from shared.testing import running_service
from tests.registration.conftest import (
    CITY,
    approved_venue,
    changed_by_another_writer_after_read,
    published_openday,
    today,
)
from tests.shared.orphan_transaction import leave_orphaned_transaction

Auth = Callable[..., dict[str, str]]


async def test_operator_cannot_see_or_edit_another_venues_open_days(registration: Any, auth: Auth) -> None:
    _, client = registration
    mine = await approved_venue(client, auth, operator="op-1")
    theirs = await approved_venue(client, auth, operator="op-2")
    openday = await published_openday(client, theirs)
    url = f"/api/v1/opendays/{openday['id']}"
    me = mine.operator
    edit = await client.patch(url, json={"max_group_size": 2}, headers={**me, "If-Match": '"2"'})
    assert edit.status_code == 404 and edit.json()["code"] == "openday_not_found"
    assert (await client.get(url, headers=me)).status_code == 404
    assert (await client.post(f"{url}/publish", headers=me)).status_code == 404
    created = await client.post(
        f"/api/v1/venues/{theirs.id}/opendays",
        json={"date": today().isoformat(), "sessions": [{"start": "09:00", "end": "10:00", "capacity": 5}]},
        headers=me,
    )
    assert created.status_code == 404 and created.json()["code"] == "venue_not_found"
    assert (await client.get(url, headers=theirs.operator)).json()["max_group_size"] == 10


async def test_open_day_edits_need_the_current_etag(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    openday = await published_openday(client, venue)
    url = f"/api/v1/opendays/{openday['id']}"
    current = await client.get(url, headers=venue.operator)
    assert (await client.patch(url, json={"max_group_size": 4}, headers=venue.operator)).status_code == 428
    edited = await client.patch(
        url, json={"max_group_size": 4}, headers={**venue.operator, "If-Match": current.headers["ETag"]}
    )
    assert edited.status_code == 200 and edited.json()["max_group_size"] == 4
    stale = await client.patch(
        url, json={"max_group_size": 6}, headers={**venue.operator, "If-Match": current.headers["ETag"]}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"


async def test_city_coordinator_reviews_only_their_own_citys_venues(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    operator = auth("venue", sub="op-9")
    body = {"name": "柳州工业博物馆", "org_type": "science_base", "city_code": "450200"}
    venue_id = (await client.post("/api/v1/venues", json=body, headers=operator)).json()["id"]
    nanning = auth("city", city=CITY)
    assert (await client.post(f"/api/v1/venues/{venue_id}/approve", headers=nanning)).status_code == 404
    assert (await client.get(f"/api/v1/venues/{venue_id}", headers=nanning)).status_code == 404
    assert venue_id not in [v["id"] for v in (await client.get("/api/v1/venues", headers=nanning)).json()["items"]]
    assert (await client.get(f"/api/v1/venues/{venue_id}", headers=operator)).json()["status"] == "pending"

    liuzhou = auth("city", city="450200")
    rejected = await client.post(f"/api/v1/venues/{venue_id}/reject", json={"reason": "地址不详"}, headers=liuzhou)
    assert (
        rejected.status_code == 200
        and rejected.json()["status"] == "rejected"
        and rejected.json()["reason"] == "地址不详"
    )
    twice = await client.post(f"/api/v1/venues/{venue_id}/approve", headers=liuzhou)
    assert twice.status_code == 409 and twice.json()["code"] == "venue_already_reviewed"
    types = [
        e["type"] async for e in runtime.db[OUTBOX].find({"envelope.data.venue_id": venue_id}, sort=[("created_at", 1)])
    ]
    assert types == ["registration.venue.registered.v1", "registration.venue.rejected.v1"]


async def test_only_approved_venues_publish_and_publishing_twice_emits_once(registration: Any, auth: Auth) -> None:
    runtime, client = registration
    operator = auth("venue", sub="op-3")
    body = {"name": "广西大学", "org_type": "university", "city_code": CITY}
    venue_id = (await client.post("/api/v1/venues", json=body, headers=operator)).json()["id"]
    draft = await client.post(
        f"/api/v1/venues/{venue_id}/opendays",
        json={"date": today().isoformat(), "online": True, "online_url": "https://example.edu.cn/open"},
        headers=operator,
    )
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    publish = f"/api/v1/opendays/{draft.json()['id']}/publish"
    refused = await client.post(publish, headers=operator)
    assert refused.status_code == 409 and refused.json()["code"] == "venue_not_approved"
    await client.post(f"/api/v1/venues/{venue_id}/approve", headers=auth("admin"))
    assert (await client.post(publish, headers=operator)).json()["status"] == "published"
    assert (await client.post(publish, headers=operator)).status_code == 200
    assert await runtime.db[OUTBOX].count_documents({"type": "registration.openday.published.v1"}) == 1


async def test_open_day_rules(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    url = f"/api/v1/venues/{venue.id}/opendays"

    async def code(**body: Any) -> str:
        reply = await client.post(url, json={"date": today().isoformat(), **body}, headers=venue.operator)
        assert reply.status_code == 422, reply.text
        return str(reply.json()["code"])

    slot = {"start": "09:00", "end": "10:00", "capacity": 5}
    assert await code(date=(today() + timedelta(days=60)).isoformat(), sessions=[slot]) == "outside_programme"
    assert await code(sessions=[slot, {"start": "09:30", "end": "11:00", "capacity": 5}]) == "sessions_overlap"
    assert await code(sessions=[slot], price_policy="half_price") == "normal_price_required"
    assert await code(online=True) == "online_url_required"
    assert await code(sessions=[]) == "sessions_required"


async def test_public_listing_filters_and_pages(registration: Any, auth: Auth) -> None:
    _, client = registration
    museum = await approved_venue(client, auth)
    lab = await approved_venue(client, auth, operator="op-5", org_type="research_institute", city="450300")
    for day in range(3):
        await published_openday(client, museum, day=today() + timedelta(days=day))
    await published_openday(client, lab, price_policy="half_price", normal_price=40)
    first = (await client.get("/api/v1/public/opendays", params={"city_code": CITY, "limit": 2})).json()
    rest = (
        await client.get(
            "/api/v1/public/opendays", params={"city_code": CITY, "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    dates = [o["date"] for o in first["items"] + rest["items"]]
    assert dates == sorted(dates) and len(dates) == 3 and rest["next_cursor"] is None
    half = (await client.get("/api/v1/public/opendays", params={"price_policy": "half_price"})).json()["items"]
    assert [(o["venue_id"], o["normal_price"], o["sessions"][0]["remaining"]) for o in half] == [(lab.id, 40, 100)]


async def test_venue_registration_keeps_its_shape(registration: Any, auth: Auth) -> None:
    _, client = registration
    body = {"name": "南宁高新区企业", "org_type": "high_tech_enterprise", "city_code": CITY, "address": "高新大道1号"}
    reply = await client.post("/api/v1/venues", json=body, headers=auth("venue", sub="op-7"))
    assert reply.status_code == 201
    assert {k: reply.json()[k] for k in (*body, "status", "owner")} == {**body, "status": "pending", "owner": "op-7"}
    unknown = await client.post("/api/v1/venues", json={**body, "city_code": "999999"}, headers=auth("venue"))
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_city"


async def test_openapi_describes_every_route(registration: Any) -> None:
    _, client = registration
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/api/v1/public/bookings", "/api/v1/venues/{venue_id}/checkins/batch", "/api/v1/activities"} <= set(paths)


async def test_operator_edits_own_venue_with_if_match_only(registration: Any, auth: Auth) -> None:
    _, client = registration
    venue = await approved_venue(client, auth)
    url = f"/api/v1/venues/{venue.id}"
    current = await client.get(url, headers=venue.operator)
    assert (await client.patch(url, json={"address": "民族大道"}, headers=venue.operator)).status_code == 428
    contact = {"name": "李四", "phone": "0771-1234567"}
    edited = await client.patch(
        url,
        json={"address": "民族大道", "contact": contact},
        headers={**venue.operator, "If-Match": current.headers["ETag"]},
    )
    assert edited.status_code == 200 and edited.json()["address"] == "民族大道" and edited.json()["contact"] == contact
    stale = await client.patch(url, json={"name": "x"}, headers={**venue.operator, "If-Match": current.headers["ETag"]})
    assert stale.status_code == 412
    other = await client.patch(url, json={"name": "x"}, headers={**auth("venue", sub="op-2"), "If-Match": "*"})
    assert other.status_code == 404
    assert (await client.get(url, headers=venue.operator)).json()["name"] == "广西科技馆"


async def test_a_venue_edited_meanwhile_keeps_the_other_edit(
    registration: Any, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, client = registration
    venue = await approved_venue(client, auth)
    url = f"/api/v1/venues/{venue.id}"
    changed_by_another_writer_after_read(monkeypatch, venues, runtime, VENUES, venue.id, {"address": "民族大道"})
    mine = await client.patch(url, json={"address": "青秀路"}, headers={**venue.operator, "If-Match": "*"})
    assert mine.status_code == 409 and mine.json()["code"] == "concurrent_change", mine.text
    stored = (await client.get(url, headers=venue.operator)).json()
    assert (stored["address"], stored["version"]) == ("民族大道", 2)


async def test_an_open_day_edited_meanwhile_keeps_the_other_edit(
    registration: Any, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, client = registration
    venue = await approved_venue(client, auth)
    openday = await published_openday(client, venue)
    url = f"/api/v1/opendays/{openday['id']}"
    version = openday["version"]
    changed_by_another_writer_after_read(monkeypatch, opendays, runtime, OPENDAYS, openday["id"], {"max_group_size": 3})
    mine = await client.patch(url, json={"max_group_size": 6}, headers={**venue.operator, "If-Match": "*"})
    assert mine.status_code == 409 and mine.json()["code"] == "concurrent_change", mine.text
    stored = (await client.get(url, headers=venue.operator)).json()
    assert (stored["max_group_size"], stored["version"]) == (3, version + 1)


async def test_a_venue_held_by_a_killed_process_answers_503_within_the_deadline(
    registration_settings: Callable[..., Any], auth: Auth
) -> None:
    async with running_service(create_app(registration_settings(request_deadline_s=1))) as (runtime, client):
        venue = await approved_venue(client, auth)
        url = f"/api/v1/venues/{venue.id}"
        etag = (await client.get(url, headers=venue.operator)).headers["ETag"]
        await leave_orphaned_transaction(runtime.settings.mongodb_url, runtime.settings.mongodb_db, VENUES, venue.id)
        started = time.monotonic()
        # a single-document write (no transaction) waits on the held record; unbounded, ~60 s
        edit = client.patch(url, json={"address": "民族大道"}, headers={**venue.operator, "If-Match": etag})
        busy = await asyncio.wait_for(edit, 15)
        assert busy.status_code == 503 and busy.json()["code"] == "database_unavailable", busy.text
        assert busy.headers["Retry-After"] and time.monotonic() - started < 4
