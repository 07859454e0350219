"""Targets: progress and pace from the projections, behind-pace alerts once per falling behind, scopes, metrics."""

from datetime import UTC, date, datetime
from typing import Any, get_args

from services.reporting import store
from services.reporting.domain.labels import is_counter
from services.reporting.domain.pace import Target, progress
from services.reporting.main import create_app
from services.reporting.service import targets
from shared.contracts.registration import ActivityType
from shared.outbox import OUTBOX
from shared.programme import TargetSpec
from shared.testing import eventually, running_service
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled

WEEK = Target("visits", "completed", "province", 1000, date(2020, 8, 23), date(2020, 8, 29))


def test_linear_pace_and_configured_schedule() -> None:
    assert progress(WEEK, 0, date(2020, 8, 22))["behind"] is False
    midweek = progress(WEEK, 499, date(2020, 8, 26))
    assert (midweek["expected"], midweek["behind"], midweek["ratio"]) == (500.0, True, 0.499)
    assert progress(WEEK, 500, date(2020, 8, 26))["behind"] is False
    front_loaded = Target(
        "v", "completed", "province", 100, WEEK.start, WEEK.due, ((date(2020, 8, 23), 0.5), (date(2020, 8, 29), 1.0))
    )
    assert progress(front_loaded, 50, date(2020, 8, 23))["expected"] == 50.0


def test_a_configured_target_with_a_schedule() -> None:
    spec = {"id": "visitors", "metric": "visitors", "value": 1000, "due": "2020-08-29"}
    spec |= {"schedule": [["2020-08-23", 0.0], ["2020-08-25", 0.8], ["2020-08-29", 1.0]]}
    target = targets.from_spec(spec, date(2020, 8, 23))
    assert (target.scope, target.start) == ("province", date(2020, 8, 23))
    assert progress(target, 400, date(2020, 8, 24))["expected"] == 400.0
    assert progress(target, 799, date(2020, 8, 25))["behind"] is True


async def test_pace_alerts_scopes_admin_targets_and_business_metrics(settings_for: Any, auth: Any) -> None:
    app = create_app(settings_for("reporting", reporting_metrics_refresh_s=0.2))
    admin, guilin = auth("admin"), auth("city", city=scenario.GUILIN)
    async with running_service(app) as (runtime, client):
        events = scenario.all_events()
        await publish(runtime, events)
        await settled(runtime, len(events), len(events))
        # judged by today (years after the programme) every target is over: met or missed, nobody is nagged
        assert await targets.announce_behind_pace(runtime, runtime.clock.now()) == 0
        assert await runtime.db[store.TARGET_STATE].count_documents({}) == 0
        before_start = datetime(2020, 8, 22, tzinfo=UTC)
        await targets.announce_behind_pace(runtime, before_start)  # nothing is expected yet: all on pace
        await runtime.db[OUTBOX].delete_many({"type": "reporting.target.behind_pace.v1"})
        midweek = datetime(2020, 8, 26, 4, tzinfo=UTC)
        # behind: the province's and 14 cities' visits, 13 cities' lectures (Guilin held 1 of the 1 expected),
        # and the 3 zones (due full at the opening)
        assert await targets.announce_behind_pace(runtime, midweek) == 1 + 14 + 13 + 3
        assert await targets.announce_behind_pace(runtime, midweek) == 0
        sent = await runtime.db[OUTBOX].find({"type": "reporting.target.behind_pace.v1"}).to_list()
        visits = next(e["envelope"]["data"] for e in sent if e["envelope"]["data"]["target_id"] == "visits")
        assert (visits["done"], visits["expected"], visits["value"]) == (2, 500, 1000)

        spec = {"id": "guilin-bookings", "metric": "bookings", "scope": "city:450300", "value": 4, "due": "2020-08-29"}
        assert (await client.put("/api/v1/targets/guilin-bookings", json=spec, headers=guilin)).status_code == 403
        assert (await client.put("/api/v1/targets/guilin-bookings", json=spec, headers=admin)).status_code == 204
        mine = (await client.get("/api/v1/targets", headers=guilin)).json()["items"]
        scopes = {t["scope"] for t in mine}
        assert scopes == {"province", "city:450300", "zone:1", "zone:2", "zone:3"}
        added = next(t for t in mine if t["id"] == "guilin-bookings")
        assert (added["done"], added["ratio"], added["source"]) == (2, 0.5, "admin")
        lectures = next(t for t in mine if t["id"] == "policy_lectures:450300")
        assert (lectures["done"], lectures["value"]) == (1, 2)

        public = (await client.get("/api/v1/dashboard/public")).json()
        assert public["totals"]["completed"] == 2 and "cities" not in public
        assert (await client.get("/api/v1/dashboard")).status_code == 401
        detail = (await client.get("/api/v1/dashboard", headers=guilin)).json()
        assert [c["city_code"] for c in detail["cities"]] == [scenario.GUILIN] and detail["totals"]["bookings"] == 2

        async def scraped() -> str | None:
            text = (await client.get("/metrics")).text
            return text if 'sciweek_target_ratio{target="guilin-bookings"} 0.5' in text else None

        text = await eventually(scraped)
        assert 'sciweek_business{city="450300",metric="bookings"} 2.0' in text
        assert 'sciweek_business{city="all",metric="completed"} 2.0' in text


async def test_the_public_headline_can_be_switched_off(settings_for: Any) -> None:
    app = create_app(settings_for("reporting", reporting_public_headline=False))
    async with running_service(app) as (_, client):
        for path in ("/api/v1/dashboard/public", "/api/v1/progress"):
            closed = await client.get(path)
            assert closed.status_code == 404 and closed.json()["code"] == "not_found", path


async def test_a_target_measures_a_kept_counter_in_a_known_scope(reporting: Any, auth: Any) -> None:
    admin = auth("admin")
    runtime, client = reporting
    events = scenario.all_events()
    await publish(runtime, events)
    await settled(runtime, len(events), len(events))
    kept = {name async for doc in runtime.db[store.COUNTERS].find({}) for name in store.flat(doc)}
    kept.discard(store.EVENTS)  # how many events the projections applied: bookkeeping, not a measure
    unknown = {name for name in kept if not is_counter(name, get_args(ActivityType))}
    assert unknown == set(), "the projections keep counters a target may not measure"
    for target in targets.programme_targets(runtime.programme):
        spec = TargetSpec(id="t", metric=target.metric, scope=target.scope, value=1, due=target.due)
        targets.check_spec(runtime.programme, spec)

    def spec(**fields: Any) -> dict[str, Any]:
        return {"id": "t1", "metric": "visitors", "scope": "province", "value": 10, "due": "2020-08-29", **fields}

    refused = {
        "unknown_metric": [spec(metric="visitorz"), spec(metric="activities.karaoke.held"), spec(metric="")],
        "unknown_scope": [
            spec(scope="city:999999"),
            spec(scope="zone:9"),
            spec(scope="day:24 Aug"),
            spec(scope="x"),
        ],
    }
    for code, bodies in refused.items():
        for body in bodies:
            answer = await client.put("/api/v1/targets/t1", json=body, headers=admin)
            assert (answer.status_code, answer.json()["code"]) == (422, code), body
    assert "t1" not in {t["id"] for t in (await client.get("/api/v1/targets", headers=admin)).json()["items"]}
    for body in (
        spec(metric="activities.science_night.held", scope=f"city:{scenario.GUILIN}|day:2020-08-24"),
        spec(metric="exhibits_placed", scope="zone:2"),
        spec(scope="day:2020-08-24"),
    ):
        assert (await client.put("/api/v1/targets/t1", json=body, headers=admin)).status_code == 204, body
