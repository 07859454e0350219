"""Submission lifecycle rules over the real database, with events written to the outbox and relayed."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.exhibits.main import create_app
from services.exhibits.store import SUBMISSIONS
from shared.app import Runtime
from shared.outbox import OUTBOX
from shared.testing import running_service
from tests.exhibits.conftest import Auth, Flow, exhibit, programme_with_deadline, received_types, tap

Service = tuple[Runtime, httpx.AsyncClient]


async def test_draft_is_edited_with_if_match_then_submitted(exhibits: Service, flow: Flow) -> None:
    runtime, client = exhibits
    queue = await tap(runtime)
    draft = await flow.create({**exhibit("北斗高精度定位终端"), "submit": False})
    assert draft["status"] == "draft" and draft["version"] == 1
    url = f"/api/v1/submissions/{draft['id']}"
    edit = exhibit("北斗高精度定位终端（第二代）")
    no_etag = await client.put(url, json=edit, headers=flow.org("gxu"))
    assert no_etag.status_code == 428 and no_etag.json()["code"] == "if_match_required"
    edited = await client.put(url, json=edit, headers={**flow.org("gxu"), "If-Match": '"1"'})
    assert edited.status_code == 200 and edited.headers["etag"] == '"2"'
    stale = await client.put(url, json=edit, headers={**flow.org("gxu"), "If-Match": '"1"'})
    assert stale.status_code == 412
    assert await runtime.db[OUTBOX].count_documents({}) == 0  # drafts are private: no event yet

    submitted = await client.post(f"{url}/submit", headers=flow.org("gxu"))
    again = await client.post(f"{url}/submit", headers=flow.org("gxu"))
    assert submitted.json()["status"] == again.json()["status"] == "submitted"
    version = {**flow.org("gxu"), "If-Match": submitted.headers["etag"]}
    moved = await client.put(url, json=exhibit("北斗高精度定位终端（第二代）", zone=2), headers=version)
    assert moved.status_code == 409 and moved.json()["code"] == "facts_locked"  # the submitted event said zone 1
    typo = await client.put(url, json={**edit, "summary": "厘米级定位"}, headers=version)
    assert typo.status_code == 200 and typo.json()["summary"] == "厘米级定位"
    history = typo.json()["history"]
    assert [(h["status"], h["by"]) for h in history] == [("draft", "user-gxu"), ("submitted", "user-gxu")]
    assert all(h["at"] for h in history)
    assert await runtime.db[OUTBOX].count_documents({"type": "exhibits.exhibit.submitted.v1"}) == 1
    assert await received_types(queue, 1) == ["exhibits.exhibit.submitted.v1"]  # relayed over the real broker


async def test_no_review_before_submit_and_no_decision_without_reviews(exhibits: Service, flow: Flow) -> None:
    runtime, client = exhibits
    await flow.assign("rev-a", [2])
    draft = await flow.create({**exhibit("新冠病毒快速检测试剂盒", zone=2), "submit": False})
    early = await flow.review(draft["id"], "rev-a", 4)
    assert early.status_code == 409 and early.json()["code"] == "not_submitted"
    on_draft = await flow.decide(draft["id"], "accepted", force=True)
    assert on_draft.status_code == 409 and on_draft.json()["code"] == "not_submitted"

    await client.post(f"/api/v1/submissions/{draft['id']}/submit", headers=flow.org("gxu"))
    unreviewed = await flow.decide(draft["id"], "accepted")
    assert unreviewed.status_code == 409 and unreviewed.json()["code"] == "no_reviews"
    outsider = await flow.review(draft["id"], "rev-zone1", 5)
    assert outsider.status_code == 404  # a reviewer of another zone does not see it

    reviewed = await flow.review(draft["id"], "rev-a", 4)
    assert reviewed.status_code == 200, reviewed.text
    accepted = await flow.decide(draft["id"], "accepted")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    late = await flow.review(draft["id"], "rev-a", 5)
    assert late.status_code == 409 and late.json()["code"] == "review_closed"
    types = [e["type"] async for e in runtime.db[OUTBOX].find({}, sort=[("created_at", 1)])]
    assert types == ["exhibits.exhibit.submitted.v1", "exhibits.review.submitted.v1", "exhibits.exhibit.accepted.v1"]


async def test_admin_may_force_a_decision_and_bulk_decide(exhibits: Service, flow: Flow) -> None:
    runtime, client = exhibits
    ids = [(await flow.create(exhibit(f"展品{i}")))["id"] for i in range(3)]
    items = [{"id": ids[0], "decision": "rejected"}, {"id": ids[1], "decision": "waitlisted"}]
    items.append({"id": "no-such-id", "decision": "accepted"})
    unforced = await client.post("/api/v1/decisions", json={"items": items}, headers=flow.admin)
    assert [r["code"] for r in unforced.json()["results"]] == ["no_reviews", "no_reviews", "submission_not_found"]
    forced = await client.post("/api/v1/decisions", json={"items": items, "force": True}, headers=flow.admin)
    assert forced.json()["decided"] == 2
    statuses = {d["_id"]: d["status"] async for d in runtime.db[SUBMISSIONS].find({})}
    assert statuses == {ids[0]: "rejected", ids[1]: "waitlisted", ids[2]: "submitted"}
    from_waitlist = await flow.decide(ids[1], "accepted", force=True)
    assert from_waitlist.status_code == 200 and from_waitlist.json()["status"] == "accepted"
    history = from_waitlist.json()["history"]
    assert [h["status"] for h in history] == ["draft", "submitted", "waitlisted", "accepted"]
    assert history[-1]["by"] == "office"


async def test_no_edits_after_accept_then_confirm_or_withdraw(exhibits: Service, flow: Flow) -> None:
    runtime, client = exhibits
    accepted = await flow.accepted(exhibit("智能巡检机器人"))
    url = f"/api/v1/submissions/{accepted['id']}"
    headers = {**flow.org("gxu"), "If-Match": f'"{accepted["version"]}"'}
    edit = await client.put(url, json=exhibit("改名"), headers=headers)
    assert edit.status_code == 409 and edit.json()["code"] == "not_editable"
    redecide = await flow.decide(accepted["id"], "rejected", force=True)
    assert redecide.status_code == 409 and redecide.json()["code"] == "invalid_transition"
    confirmed = await client.post(f"{url}/confirm", headers=flow.org("gxu"))
    assert confirmed.json()["status"] == "confirmed"
    withdrawn = await client.post(f"{url}/withdraw", headers=flow.org("gxu"))
    assert withdrawn.json()["status"] == "withdrawn"
    gone = await client.get(f"/api/v1/catalogue/{accepted['id']}")
    assert gone.status_code == 404
    kinds = {e["type"] async for e in runtime.db[OUTBOX].find({})}
    assert {"exhibits.exhibit.confirmed.v1", "exhibits.exhibit.withdrawn.v1"} <= kinds


async def test_zone_three_needs_an_industry_and_bad_input_writes_nothing(exhibits: Service, flow: Flow) -> None:
    runtime, client = exhibits
    no_industry = {"title": "甘蔗全程机械化", "zone": 3}
    response = await client.post("/api/v1/submissions", json=no_industry, headers=flow.org("gxu"))
    assert response.status_code == 422 and response.json()["code"] == "industry_required"
    wrong_city = await client.post(
        "/api/v1/submissions", json={**exhibit("x"), "city_code": "450200"}, headers=flow.org("gxu")
    )
    assert wrong_city.status_code == 422 and wrong_city.json()["code"] == "city_mismatch"
    bad = await client.post("/api/v1/submissions", json={"title": "", "zone": 0, "x": 1}, headers=flow.org("gxu"))
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert await runtime.db[SUBMISSIONS].count_documents({}) == 0
    assert await runtime.db[OUTBOX].count_documents({}) == 0


async def test_create_is_idempotent_per_key(exhibits: Service, flow: Flow) -> None:
    runtime, client = exhibits
    headers = {**flow.org("gxu"), "Idempotency-Key": "form-7"}
    first = await client.post("/api/v1/submissions", json={**exhibit("桑蚕智能养殖"), "submit": True}, headers=headers)
    second = await client.post("/api/v1/submissions", json={**exhibit("桑蚕智能养殖"), "submit": True}, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert await runtime.db[SUBMISSIONS].count_documents({}) == 1
    assert await runtime.db[OUTBOX].count_documents({}) == 1


async def test_deadline_from_configuration_is_enforced(
    settings_for: Callable[..., Any], auth: Auth, tmp_path: Path
) -> None:
    closes = datetime.now(UTC) + timedelta(hours=1)
    open_settings = settings_for("exhibits", programme_file=programme_with_deadline(tmp_path / "a", closes))
    async with running_service(create_app(open_settings)) as (_, client):
        draft = await Flow(client, auth).create({**exhibit("糖料蔗新品种"), "submit": False})

    closed = datetime.now(UTC) - timedelta(minutes=1)
    closed_settings = settings_for("exhibits", programme_file=programme_with_deadline(tmp_path / "b", closed))
    async with running_service(create_app(closed_settings)) as (runtime, client):
        flow = Flow(client, auth)
        late = await client.post("/api/v1/submissions", json=exhibit("迟到的展品"), headers=flow.org("gxu"))
        assert late.status_code == 409 and late.json()["code"] == "submission_closed"
        submit = await client.post(f"/api/v1/submissions/{draft['id']}/submit", headers=flow.org("gxu"))
        assert submit.status_code == 409 and submit.json()["code"] == "submission_closed"
        assert (await client.get(f"/api/v1/submissions/{draft['id']}", headers=flow.org("gxu"))).json()["status"] == (
            "draft"
        )
        assert await runtime.db[OUTBOX].count_documents({}) == 0
