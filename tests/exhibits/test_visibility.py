"""Who sees what: organisations see only their own submissions; reviewer comments never reach exhibitors."""

from typing import Any

import httpx
import pytest

from services.exhibits.main import create_app
from shared.app import Runtime
from shared.testing import running_service
from tests.exhibits.conftest import Auth, Flow, exhibit

Service = tuple[Runtime, httpx.AsyncClient]
SECRET_COMMENT = "演示效果一般，建议不录用"


async def test_an_exhibitor_cannot_see_another_organisations_drafts(exhibits: Service, flow: Flow) -> None:
    _, client = exhibits
    mine = await flow.create({**exhibit("甘蔗收获机"), "submit": False}, org="gxu")
    theirs = await flow.create({**exhibit("海洋牧场监测浮标"), "submit": False}, org="gxmu", city="450500")
    url = f"/api/v1/submissions/{theirs['id']}"
    peek = await client.get(url, headers=flow.org("gxu"))
    assert peek.status_code == 404 and peek.json()["code"] == "submission_not_found"
    assert (await client.get(url, headers=flow.org("gxmu", "450500"))).status_code == 200
    edit = await client.put(url, json=exhibit("x"), headers={**flow.org("gxu"), "If-Match": '"1"'})
    assert edit.status_code == 404
    submit = await client.post(f"{url}/submit", headers=flow.org("gxu"))
    assert submit.status_code == 404
    listed = (await client.get("/api/v1/submissions", headers=flow.org("gxu"))).json()
    assert [s["id"] for s in listed["items"]] == [mine["id"]]
    everything = (await client.get("/api/v1/submissions", headers=flow.admin)).json()
    assert {s["id"] for s in everything["items"]} == {mine["id"], theirs["id"]}
    no_org = await client.get("/api/v1/submissions", headers=flow.auth("exhibitor", sub="x"))
    assert no_org.status_code == 403 and no_org.json()["code"] == "no_organisation"


async def test_reviewer_comments_never_reach_the_exhibitor(exhibits: Service, flow: Flow) -> None:
    _, client = exhibits
    await flow.assign("rev-a", [1])
    await flow.assign("rev-b", [1])
    created = await flow.create(exhibit("智慧农业物联网平台"))
    assert (await flow.review(created["id"], "rev-a", 2, SECRET_COMMENT)).status_code == 200
    reviews_url = f"/api/v1/submissions/{created['id']}/reviews"
    as_exhibitor = await client.get(reviews_url, headers=flow.org("gxu"))
    assert as_exhibitor.status_code == 403 and as_exhibitor.json()["code"] == "forbidden_role"
    own_view = await client.get(f"/api/v1/submissions/{created['id']}", headers=flow.org("gxu"))
    assert own_view.status_code == 200 and SECRET_COMMENT not in own_view.text
    await flow.decide(created["id"], "accepted")
    listing = await client.get("/api/v1/submissions", headers=flow.org("gxu"))
    page = await client.get(f"/api/v1/catalogue/{created['id']}")
    search = await client.get("/api/v1/catalogue", params={"q": "农业"})
    for response in (listing, page, search):
        assert response.status_code == 200 and SECRET_COMMENT not in response.text


async def test_reviewers_see_others_scores_only_after_their_own(exhibits: Service, flow: Flow) -> None:
    _, client = exhibits
    await flow.assign("rev-a", [2])
    await flow.assign("rev-b", [2])
    created = await flow.create(exhibit("负压救护车", zone=2))
    await flow.review(created["id"], "rev-a", 5, "很好")
    reviews_url = f"/api/v1/submissions/{created['id']}/reviews"
    early = await client.get(reviews_url, headers=flow.auth("reviewer", sub="rev-b"))
    assert early.status_code == 403 and early.json()["code"] == "review_first"
    peek = await client.get(f"/api/v1/submissions/{created['id']}", headers=flow.auth("reviewer", sub="rev-b"))
    assert peek.status_code == 200 and "score" not in peek.json() and "很好" not in peek.text
    own = await client.get(f"/api/v1/submissions/{created['id']}", headers=flow.org("gxu"))
    assert "score" not in own.json() and "review_count" not in own.json()
    waiting = (await client.get("/api/v1/review-queue", headers=flow.auth("reviewer", sub="rev-b"))).json()["items"]
    assert [(i["reviewed_by_me"], "score" in i, "review_count" in i) for i in waiting] == [(False, False, False)]
    await flow.review(created["id"], "rev-b", 3, "一般")
    after = await client.get(reviews_url, headers=flow.auth("reviewer", sub="rev-b"))
    assert after.status_code == 200
    assert {r["reviewer_id"]: r["total"] for r in after.json()["items"]} == {"rev-a": 5.0, "rev-b": 3.0}
    queue = (await client.get("/api/v1/review-queue", headers=flow.auth("reviewer", sub="rev-b"))).json()
    assert [(i["id"], i["reviewed_by_me"]) for i in queue["items"]] == [(created["id"], True)]
    view = (await client.get(f"/api/v1/submissions/{created['id']}", headers=flow.admin)).json()
    assert view["score"] == 4.0 and view["review_count"] == 2 and view["status"] == "in_review"


async def test_median_aggregate_comes_from_settings(settings_for: Any, auth: Auth) -> None:
    settings = settings_for("exhibits", exhibits_aggregate="median")
    async with running_service(create_app(settings)) as (_, client):
        flow = Flow(client, auth)
        await flow.assign("r1", [1])
        await flow.assign("r2", [1])
        await flow.assign("r3", [1])
        created = await flow.create(exhibit("糖厂智能制造"))
        for reviewer, score in (("r1", 5), ("r2", 2), ("r3", 3)):
            assert (await flow.review(created["id"], reviewer, score)).status_code == 200
        view = (await client.get(f"/api/v1/submissions/{created['id']}", headers=flow.admin)).json()
        assert view["score"] == pytest.approx(3.0, abs=1e-3)  # the median; the mean would be 3.33
