"""Every scoped write of the four services refuses another city's, venue's, organisation's, unit's or
volunteer's object: 404 for a role the route admits (existence is not revealed), 403 for one it does not,
and in both cases nothing is written, no event either. Against the real services, database and broker.

The write routes come from the apps themselves: a new one fails `test_every_write_route_is_listed` until
it has a case in CASES, or a line in NOT_OBJECT_SCOPED (with its reason) or ADMIN_ONLY.
"""

import importlib
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.app import Runtime
from shared.auth import ROLES, Role, mint_token
from shared.http import etag
from shared.outbox import OUTBOX
from shared.settings import Settings
from shared.testing import RabbitVhost, make_settings, running_service
from tests.conftest import TZ, today
from tests.test_layout import api_routes

SERVICES = ("registration", "exhibits", "volunteers", "reporting")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
Ids = dict[str, str]

# Who attacks: each scoped role with its own scope; the objects attacked belong to someone else.
CALLERS: dict[Role, dict[str, Any]] = {
    "city": {"sub": "coord-nanning", "city": "450100"},  # attacks 450200 (柳州)
    "unit": {"sub": "liaison-gxu", "org": "gxu"},  # attacks unit gxmu and the cities
    "venue": {"sub": "op-mine"},  # attacks op-theirs's venues
    "exhibitor": {"sub": "user-gxu", "org": "gxu", "city": "450100"},  # attacks org gxmu's submissions
    "reviewer": {"sub": "rev-zone1"},  # reviews zone 1; attacks a zone-2 submission
    "volunteer": {"sub": "c-202"},  # a commissioner of 450200; attacks c-201's assignments in the same city
}
SCOPED_ROLES = [r for r in ROLES if r != "admin"]
assert set(CALLERS) == set(SCOPED_ROLES)

# Write routes that name no existing object of someone else, each with why (service, method, route template).
NOT_OBJECT_SCOPED: dict[tuple[str, str, str], str] = {
    # creating a new record: the owner comes from the token; a city named in the body is checked (403 out_of_scope)
    ("registration", "POST", "/api/v1/venues"): "new venue, owned by the caller",
    ("registration", "POST", "/api/v1/activities"): "new activity; body city checked against the token",
    ("exhibits", "POST", "/api/v1/submissions"): "new submission of the token's organisation",
    ("volunteers", "POST", "/api/v1/assignments"): "new assignment; body city checked, people and village of it",
    ("volunteers", "POST", "/api/v1/plans/commit"): "new assignments, the same rules as POST /assignments",
    ("volunteers", "POST", "/api/v1/plans/preview"): "writes nothing; body city checked",
    # the public: no account, the booking code is the booker's secret
    ("registration", "POST", "/api/v1/public/bookings"): "public booking",
    ("registration", "POST", "/api/v1/public/bookings/{code}/cancel"): "public, by the booking's secret code",
    ("registration", "POST", "/api/v1/public/bookings/{code}/accept"): "public, by the booking's secret code",
    ("registration", "POST", "/api/v1/invitations"): "new invitation; its venues must be of the caller's city (404)",
    ("registration", "POST", "/api/v1/public/invitations/accept"): "public, by the invitation's one-time secret",
    ("volunteers", "POST", "/api/v1/enrolments/city/{city_code}"): "the city in the path is checked against the token",
    ("exhibits", "POST", "/api/v1/exhibitor-invitations/accept"): "public, by the invitation's one-time secret",
}
# Admin-only routes: every scoped role gets 403 (checked by `test_admin_only_routes_refuse_every_scoped_role`).
ADMIN_ONLY: set[tuple[str, str, str]] = {
    ("exhibits", "PUT", "/api/v1/reviewers/{reviewer_id}"),
    ("exhibits", "POST", "/api/v1/exhibitor-invitations"),
    ("exhibits", "POST", "/api/v1/exhibitor-invitations/{invitation_id}/revoke"),
    ("exhibits", "POST", "/api/v1/submissions/{exhibit_id}/decision"),
    ("exhibits", "POST", "/api/v1/decisions"),
    ("exhibits", "POST", "/api/v1/allocation/proposals"),
    ("exhibits", "POST", "/api/v1/allocation/moves"),
    ("exhibits", "POST", "/api/v1/allocation/releases"),
    ("volunteers", "PUT", "/api/v1/quotas/{city_code}"),
    ("reporting", "PUT", "/api/v1/summaries/province"),
    ("reporting", "POST", "/api/v1/summaries/province/submit"),
    ("reporting", "POST", "/api/v1/summaries/{code}/exception"),
    ("reporting", "PUT", "/api/v1/targets/{target_id}"),
    *((service, method, "/api/v1/clock") for service in SERVICES for method in ("PUT", "DELETE")),  # rehearsal clock
}


IN_PROGRAMME = datetime(2020, 9, 1, 4, tzinfo=UTC)  # reporting's clock: summaries editable, no reminder due
NOW = datetime.now(UTC).isoformat()
POSITION = {"lat": 24.33, "lon": 109.41, "accuracy_m": 10}
REPORT = {"consultations": 1, "people_trained": 1, "photo_ids": ["p-1"]}  # no photo may answer before the scope
VENUE, CITY, EXHIBITOR, VOLUNTEER = (frozenset[Role]({r}) for r in ("venue", "city", "exhibitor", "volunteer"))
SUMMARY_AUTHORS = frozenset[Role]({"city", "unit"})


@dataclass(frozen=True)
class Case:
    """One attack: `route` (as the app declares it) with its parameters `fill`ed from the seeded ids."""

    service: str
    method: str
    route: str
    fill: dict[str, str]  # route parameter -> name of a seeded id
    admitted: frozenset[Role]  # the roles the route lets in: each gets 404 `code`, any other role 403
    code: str
    collection: str  # where the attacked object is stored...
    query: Callable[[Ids], dict[str, Any]]  # ...and how to find it
    body: Callable[[Ids], Any] | None = None
    upload: tuple[str, bytes] | None = None  # a multipart file
    headers: Callable[[Ids], dict[str, str]] = lambda ids: {}
    in_body: bool = False  # an offline batch: 200, and its operation rejected with `code`

    @property
    def key(self) -> tuple[str, str, str]:
        return self.service, self.method, self.route

    def __str__(self) -> str:
        return " ".join([self.service, self.method, self.route, *self.fill.values()])


def stored(name: str) -> Callable[[Ids], dict[str, Any]]:
    return lambda ids: {"_id": ids[name]}


def const(value: Any) -> Callable[[Ids], Any]:
    return lambda ids: value


def matching(name: str) -> Callable[[Ids], dict[str, str]]:
    """The If-Match of the object as seeded: a write in scope would pass the version check."""
    return lambda ids: {"If-Match": ids[f"{name}_etag"]}


def registration_cases() -> list[Case]:
    def case(method: str, route: str, fill: dict[str, str], admitted: frozenset[Role], code: str, **more: Any) -> Case:
        collection, target = more.pop("target")
        return Case("registration", method, "/api/v1" + route, fill, admitted, code, collection, stored(target), **more)

    theirs = {"venue_id": "venue_theirs"}
    return [
        case("PATCH", "/venues/{venue_id}", theirs, VENUE, "venue_not_found", target=("venues", "venue_theirs"),
             body=const({"name": "改名"}), headers=matching("venue_theirs")),
        case("POST", "/venues/{venue_id}/approve", {"venue_id": "venue_pending"}, CITY, "venue_not_found",
             target=("venues", "venue_pending")),
        case("POST", "/venues/{venue_id}/reject", {"venue_id": "venue_pending"}, CITY, "venue_not_found",
             target=("venues", "venue_pending"), body=const({"reason": "不合格"})),
        Case("registration", "POST", "/api/v1/venues/{venue_id}/opendays", theirs, VENUE, "venue_not_found",
             "opendays", lambda ids: {"venue_id": ids["venue_theirs"]}, body=const(openday())),
        case("PATCH", "/opendays/{openday_id}", {"openday_id": "openday_draft"}, VENUE, "openday_not_found",
             target=("opendays", "openday_draft"), body=const({"max_group_size": 2}),
             headers=matching("openday_draft")),
        case("POST", "/opendays/{openday_id}/publish", {"openday_id": "openday_draft"}, VENUE, "openday_not_found",
             target=("opendays", "openday_draft")),
        case("POST", "/venues/{venue_id}/checkins", theirs, VENUE, "venue_not_found", target=("bookings", "booking"),
             body=lambda ids: {"token": ids["ticket"]}),
        case("POST", "/venues/{venue_id}/checkins/batch", theirs, VENUE, "venue_not_found",
             target=("bookings", "booking"),
             body=lambda ids: {"scans": [{"scan_id": "scan-0001", "token": ids["ticket"], "scanned_at": NOW}]}),
        case("POST", "/venues/{venue_id}/exits", theirs, VENUE, "venue_not_found", target=("bookings", "booking"),
             body=lambda ids: {"token": ids["ticket"]}),
        case("POST", "/bookings/{booking_id}/cancel", {"booking_id": "booking"}, VENUE, "booking_not_found",
             target=("bookings", "booking")),
        case("POST", "/activities/{activity_id}/outcome", {"activity_id": "activity"}, CITY, "activity_not_found",
             target=("activities", "activity"), body=const({"status": "held", "participants": 10}),
             headers=matching("activity")),
        case("PUT", "/activities/{activity_id}/photos/{photo_id}", {"activity_id": "activity", "photo_id": "photo"},
             CITY, "activity_not_found", target=("activities", "activity"), upload=("p.png", PNG)),
        case("POST", "/opendays/{openday_id}/sessions/{session_id}/cancel",
             {"openday_id": "openday_published", "session_id": "session"}, VENUE, "openday_not_found",
             target=("opendays", "openday_published")),
        case("POST", "/invitations/{invitation_id}/revoke", {"invitation_id": "invitation"}, CITY,
             "invitation_not_found", target=("invitations", "invitation")),
    ]  # fmt: skip


def exhibits_cases() -> list[Case]:
    def case(method: str, route: str, target: str, **more: Any) -> Case:
        admitted, fill = more.pop("admitted", EXHIBITOR), {"exhibit_id": target, **more.pop("fill", {})}
        return Case("exhibits", method, "/api/v1/submissions/{exhibit_id}" + route, fill,
                    admitted, "submission_not_found", "submissions", stored(target), **more)  # fmt: skip

    content = {"title": "改题", "zone": 2, "summary": "改"}
    scores = dict.fromkeys(("advancement", "show_value", "physical", "relevance"), 5)
    return [
        case("PUT", "", "draft", body=const(content), headers=matching("draft")),
        case("POST", "/submit", "draft"),
        case("POST", "/confirm", "accepted"),
        case("POST", "/withdraw", "submitted"),
        case("PUT", "/media/{file_id}", "draft", fill={"file_id": "file"}, upload=("p.png", PNG)),
        case("POST", "/reviews", "submitted", admitted=frozenset({"reviewer"}),
             body=const({"scores": scores, "comment": ""})),
    ]  # fmt: skip


def volunteers_cases() -> list[Case]:
    def field(method: str, route: str, **more: Any) -> Case:
        return Case("volunteers", method, "/api/v1/assignments/{assignment_id}" + route, {"assignment_id": "theirs"},
                    VOLUNTEER, "assignment_not_found", "assignments", stored("theirs"), **more)  # fmt: skip

    def accept_theirs(ids: Ids) -> dict[str, Any]:
        op = {"op_id": str(uuid.uuid4()), "type": "accept", "assignment_id": ids["theirs"], "device_time": NOW}
        return {"operations": [op]}

    return [
        *reference_cases(),
        Case("volunteers", "PATCH", "/api/v1/assignments/{assignment_id}", {"assignment_id": "theirs"}, CITY,
             "assignment_not_found", "assignments", stored("theirs"), body=const({"visit_date": "2020-08-26"}),
             headers=matching("theirs")),
        Case("volunteers", "POST", "/api/v1/assignments/{assignment_id}/cancel", {"assignment_id": "theirs"}, CITY,
             "assignment_not_found", "assignments", stored("theirs"), body=const({"reason": "取消"}),
             headers=matching("theirs")),
        field("POST", "/accept", body=const({})),
        field("POST", "/decline", body=const({"reason": "没空"})),
        field("POST", "/check-in", body=const(POSITION)),
        field("POST", "/check-out", body=const(POSITION)),
        field("POST", "/report", body=const(REPORT)),
        field("PUT", "/report", body=const(REPORT), headers=const({"If-Match": '"1"'})),
        Case("volunteers", "PUT", "/api/v1/assignments/{assignment_id}/photos/{photo_id}",
             {"assignment_id": "theirs", "photo_id": "photo_uuid"}, VOLUNTEER, "assignment_not_found", "media.files",
             lambda ids: {"metadata.assignment_id": ids["theirs"]}, upload=("p.png", PNG)),
        Case("volunteers", "POST", "/api/v1/sync", {}, VOLUNTEER, "assignment_not_found", "assignments",
             stored("theirs"), body=accept_theirs, in_body=True),
        Case("volunteers", "POST", "/api/v1/flags/{flag_id}/resolve", {"flag_id": "flag"}, CITY, "flag_not_found",
             "flags", stored("flag"), body=const({"note": "已核实"})),
        Case("volunteers", "POST", "/api/v1/enrolments/{enrolment_id}/revoke", {"enrolment_id": "enrolment"}, CITY,
             "enrolment_not_found", "enrolments", stored("enrolment")),
        Case("volunteers", "POST", "/api/v1/enrolments", {}, CITY, "commissioner_not_found", "enrolments",
             const({"commissioner_id": "c-201"}), body=const({"commissioner_id": "c-201", "label": "夺走"})),
    ]  # fmt: skip


def reference_cases() -> list[Case]:
    """A 450100 coordinator names a 450200 record with their own city (or village): by PUT and by import."""
    rows: list[tuple[str, str, str, dict[str, Any], str]] = [
        ("commissioners", "commissioner_id", "c-201", {"name": "夺走", "phone": "13800000009", "city_code": "450100"},
         "id,name,phone,city_code\nc-201,夺走,13800000009,450100\n"),
        ("villages", "village_code", "v-201", {"name": "夺走村", "city_code": "450100", "lat": 22.8, "lon": 108.3},
         "code,name,city_code,lat,lon\nv-201,夺走村,450100,22.8,108.3\n"),
        ("households", "household_id", "v-201-h1", {"village_code": "v-101", "head_name": "夺走"},
         "id,village_code,head_name\nv-201-h1,v-101,夺走\n"),
    ]  # fmt: skip
    cases = []
    for kind, param, target, fields, csv in rows:
        body = {"code" if kind == "villages" else "id": target, **fields}
        code, query = f"{kind.removesuffix('s')}_not_found", const({"_id": target})
        cases += [
            Case("volunteers", "PUT", f"/api/v1/{kind}/{{{param}}}", {param: target}, CITY, code, kind, query,
                 body=const(body)),
            Case("volunteers", "POST", f"/api/v1/{kind}/import", {}, CITY, code, kind, query,
                 upload=(f"{kind}.csv", csv.encode())),
        ]  # fmt: skip
    return cases


def reporting_cases() -> list[Case]:
    cases = []
    for code, scope, refusal in (("450200", "city:450200", "city_not_found"), ("gxmu", "unit:gxmu", "unit_not_found")):
        query = const({"_id": scope})
        cases += [
            Case("reporting", "PUT", "/api/v1/summaries/{code}", {"code": code}, SUMMARY_AUTHORS, refusal,
                 "summaries", query, body=const({"narrative": "改写"}), headers=matching(code)),
            Case("reporting", "PUT", "/api/v1/summaries/{code}/pictures/{picture_id}",
                 {"code": code, "picture_id": "picture"}, SUMMARY_AUTHORS, refusal, "summaries", query,
                 upload=("p.png", PNG)),
            Case("reporting", "POST", "/api/v1/summaries/{code}/submit", {"code": code}, SUMMARY_AUTHORS, refusal,
                 "summaries", query),
        ]  # fmt: skip
    return cases


def openday(**fields: Any) -> dict[str, Any]:
    return {
        "date": (today() + timedelta(days=2)).isoformat(),
        "sessions": [{"start": "09:00", "end": "09:50", "capacity": 100}],
        "booking_closes_at": (datetime.now(TZ) + timedelta(days=20)).isoformat(),
        **fields,
    }


CASES = registration_cases() + exhibits_cases() + volunteers_cases() + reporting_cases()


def write_routes() -> Iterator[tuple[str, str, str]]:
    """(service, method, path template) of every write route the four apps serve."""
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.main").create_app(Settings(service=service))
        for route in api_routes(app.router):
            for method in sorted((route.methods or set()) & WRITES):
                yield service, method, route.path


def test_every_write_route_is_listed() -> None:
    routes = set(write_routes())
    attacked = {case.key for case in CASES}
    declared = set(NOT_OBJECT_SCOPED) | ADMIN_ONLY
    assert sorted(routes - attacked - declared) == [], "a write route with no case here: add one, or declare why not"
    assert sorted((attacked | declared) - routes) == [], "listed here but not served"
    assert sorted(attacked & declared) == []


@dataclass
class World:
    """The four services (one instance each for the module), their seeded objects' ids, and token minting."""

    services: dict[str, tuple[Runtime, httpx.AsyncClient]]
    settings: Settings
    ids: Ids = field(default_factory=dict)

    def client(self, service: str) -> httpx.AsyncClient:
        return self.services[service][1]

    def auth(self, role: Role, sub: str | None = None, **claims: Any) -> dict[str, str]:
        token = mint_token(self.settings, role=role, sub=sub or f"seed-{role}", **claims)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def world(mongodb_url: str, vhost: RabbitVhost, programme_file: Path) -> AsyncIterator[World]:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    tuning: dict[str, dict[str, Any]] = {
        "registration": {"programme_file": programme_file, "public_rate_limit": "100000/minute"},
        "volunteers": {"volunteers_missed_check_s": 0},  # no job changes an attacked assignment meanwhile
        "reporting": {"reporting_job_interval_s": 3600},
        "exhibits": {},
    }

    def settings(service: str) -> Settings:
        infra = {"mongodb_url": mongodb_url, "amqp_url": vhost.url}
        return make_settings(service, namespace=namespace, **infra, **tuning[service])

    async with AsyncExitStack() as stack:
        services = {}
        for name in SERVICES:
            app = importlib.import_module(f"services.{name}.main").create_app(settings(name))
            services[name] = await stack.enter_async_context(running_service(app))
        world = World(services, settings("reporting"))
        for seed in (seed_registration, seed_exhibits, seed_volunteers, seed_reporting):
            await seed(world)
        yield world


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


async def seed_registration(w: World) -> None:
    client, ids = w.client("registration"), w.ids

    async def venue(operator: str, city: str, approve: bool) -> dict[str, Any]:
        body = {"name": "科技馆", "org_type": "science_museum", "city_code": city}
        created = ok(await client.post("/api/v1/venues", json=body, headers=w.auth("venue", operator)), 201)
        if not approve:
            return created
        return ok(await client.post(f"/api/v1/venues/{created['id']}/approve", headers=w.auth("city", city=city)))

    await venue("op-mine", "450100", approve=True)
    theirs = await venue("op-theirs", "450200", approve=True)
    ids |= {"venue_theirs": theirs["id"], "venue_theirs_etag": etag(theirs["version"])}
    ids["venue_pending"] = (await venue("op-theirs", "450200", approve=False))["id"]

    operator, opendays = w.auth("venue", "op-theirs"), f"/api/v1/venues/{theirs['id']}/opendays"
    draft = await client.post(opendays, json=openday(id="od-theirs-draft"), headers=operator)
    ids |= {"openday_draft": ok(draft, 201)["id"], "openday_draft_etag": draft.headers["etag"]}
    published = ok(await client.post(opendays, json=openday(), headers=operator), 201)
    published = ok(await client.post(f"/api/v1/opendays/{published['id']}/publish", headers=operator))
    booking = {"session_id": published["sessions"][0]["session_id"], "name": "张三", "phone": "13800000000"}
    booked = ok(await client.post("/api/v1/public/bookings", json=booking), 201)
    ids |= {"booking": booked["id"], "ticket": booked["ticket"]}
    ids |= {"openday_published": published["id"], "session": published["sessions"][0]["session_id"]}
    invite = {"label": "他市运营者", "venue_ids": [theirs["id"]]}
    invited = await client.post("/api/v1/invitations", json=invite, headers=w.auth("city", city="450200"))
    ids["invitation"] = ok(invited, 201)["id"]

    lecture = {"city_code": "450200", "activity_type": "policy_lecture", "title": "宣讲", "date": today().isoformat()}
    activity = await client.post("/api/v1/activities", json=lecture, headers=w.auth("city", city="450200"))
    ids |= {"activity": ok(activity, 201)["id"], "activity_etag": etag(activity.json()["version"]), "photo": "p-1"}


async def seed_exhibits(w: World) -> None:
    client, ids, admin = w.client("exhibits"), w.ids, w.auth("admin")
    gxmu = w.auth("exhibitor", "user-gxmu", org="gxmu", city="450200")

    async def create(submit: bool) -> dict[str, Any]:
        body = {"title": "医学展品", "zone": 2, "summary": "介绍", "submit": submit}
        return ok(await client.post("/api/v1/submissions", json=body, headers=gxmu), 201)

    draft = await create(submit=False)
    ids |= {"draft": draft["id"], "draft_etag": etag(draft["version"]), "submitted": (await create(True))["id"]}
    accepted = await create(submit=True)
    decision = {"decision": "accepted", "force": True}
    ok(await client.post(f"/api/v1/submissions/{accepted['id']}/decision", json=decision, headers=admin))
    ids["accepted"] = accepted["id"]
    ok(await client.put("/api/v1/reviewers/rev-zone1", json={"zones": [1]}, headers=admin))
    ids["file"] = "photo-1"


async def seed_volunteers(w: World) -> None:
    client, ids, admin = w.client("volunteers"), w.ids, w.auth("admin")
    dates = ["2020-08-24", "2020-08-25", "2020-08-26"]
    for cid, city in (("c-101", "450100"), ("c-201", "450200"), ("c-202", "450200")):
        person = {"id": cid, "name": "特派员", "phone": "13812345678", "city_code": city, "available_dates": dates}
        ok(await client.put(f"/api/v1/commissioners/{cid}", json=person, headers=admin))
        ids[cid] = cid
    for code, city in (("v-101", "450100"), ("v-201", "450200")):
        village = {"code": code, "name": "村", "city_code": city, "lat": 24.33, "lon": 109.41}
        ok(await client.put(f"/api/v1/villages/{code}", json=village, headers=admin))
        household = {"id": f"{code}-h1", "village_code": code, "head_name": "韦小宝"}
        ok(await client.put(f"/api/v1/households/{code}-h1", json=household, headers=admin))
        ids |= {code: code, f"{code}-h1": f"{code}-h1"}

    async def assign(day: str) -> httpx.Response:
        body = {"commissioner_id": "c-201", "city_code": "450200", "village_code": "v-201", "visit_date": day}
        response = await client.post("/api/v1/assignments", json=body, headers=admin)
        ok(response, 201)
        return response

    theirs = await assign("2020-08-24")
    ids |= {"theirs": theirs.json()["id"], "theirs_etag": theirs.headers["etag"], "photo_uuid": str(uuid.uuid4())}
    flagged, c201 = (await assign("2020-08-25")).json()["id"], w.auth("volunteer", "c-201")
    ok(await client.post(f"/api/v1/assignments/{flagged}/accept", json={}, headers=c201))
    far = {"lat": 0, "lon": 0, "accuracy_m": 10}  # far outside the geofence: accepted and flagged
    ok(await client.post(f"/api/v1/assignments/{flagged}/check-in", json=far, headers=c201))
    flags = ok(await client.get("/api/v1/flags", params={"city_code": "450200"}, headers=admin))["items"]
    ids["flag"] = flags[0]["id"]
    enrolled = await client.post(
        "/api/v1/enrolments", json={"commissioner_id": "c-201", "label": "手机"}, headers=admin
    )
    ids["enrolment"] = ok(enrolled, 201)["id"]


async def seed_reporting(w: World) -> None:
    runtime, client = w.services["reporting"]
    runtime.clock.fixed = IN_PROGRAMME
    admin = w.auth("admin")
    for code in ("450200", "gxmu"):  # stored summaries, so that a write in scope would change something
        url = f"/api/v1/summaries/{code}"
        seen = await client.get(url, headers=admin)
        edit = {**admin, "If-Match": seen.headers["etag"]}
        assert (await client.put(url, json={"narrative": "原文"}, headers=edit)).status_code == 204
        w.ids |= {code: code, f"{code}_etag": (await client.get(url, headers=admin)).headers["etag"]}
    w.ids["picture"] = "picture-1"


async def stored_state(runtime: Runtime, case: Case, ids: Ids) -> tuple[list[dict[str, Any]], int]:
    """The attacked object as stored, and how many events its service has recorded."""
    docs = await runtime.db[case.collection].find(case.query(ids), sort=[("_id", 1)]).to_list()
    return docs, await runtime.db[OUTBOX].count_documents({})


def request_of(case: Case, ids: Ids) -> dict[str, Any]:
    if case.upload is not None:
        return {"files": {"file": case.upload}}
    return {} if case.body is None else {"json": case.body(ids)}


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_a_scoped_write_refuses_an_object_outside_the_callers_scope(world: World, case: Case) -> None:
    runtime, client = world.services[case.service]
    ids = world.ids
    path = case.route.format_map({param: ids[name] for param, name in case.fill.items()})
    assert (await stored_state(runtime, case, ids))[0] or case.collection == "media.files", "nothing seeded"
    for role in SCOPED_ROLES:
        before = await stored_state(runtime, case, ids)
        headers = {**world.auth(role, **CALLERS[role]), **case.headers(ids)}
        response = await client.request(case.method, path, headers=headers, **request_of(case, ids))
        what = f"{role}: {response.status_code} {response.text[:300]}"
        if role not in case.admitted:
            assert (response.status_code, response.json()["code"]) == (403, "forbidden_role"), what
        elif case.in_body:
            assert response.status_code == 200, what
            assert [(r["status"], r["code"]) for r in response.json()["results"]] == [("rejected", case.code)], what
        else:
            assert (response.status_code, response.json()["code"]) == (404, case.code), what
        assert await stored_state(runtime, case, ids) == before, f"{what}: the stored object changed"


@pytest.mark.parametrize("route", sorted(ADMIN_ONLY), ids=" ".join)
async def test_admin_only_routes_refuse_every_scoped_role(world: World, route: tuple[str, str, str]) -> None:
    service, method, template = route
    path = re.sub(r"\{[^}]+\}", "x", template)
    for role in SCOPED_ROLES:
        response = await world.client(service).request(method, path, headers=world.auth(role, **CALLERS[role]))
        assert (response.status_code, response.json()["code"]) == (403, "forbidden_role"), f"{role}: {response.text}"


async def test_a_coordinator_still_writes_their_own_citys_records(world: World) -> None:
    client, nanning = world.client("volunteers"), world.auth("city", **CALLERS["city"])
    person = {"id": "c-101", "name": "黄志强", "phone": "13812345678", "city_code": "450100"}
    assert ok(await client.put("/api/v1/commissioners/c-101", json=person, headers=nanning))["name"] == "黄志强"
    csv = "id,village_code,head_name\nv-101-h1,v-101,李四\nv-101-h2,v-101,王五\n".encode()
    imported = await client.post("/api/v1/households/import", files={"file": ("h.csv", csv)}, headers=nanning)
    assert (ok(imported)["updated"], imported.json()["inserted"]) == (1, 1)
    moved = {**person, "city_code": "450200"}  # their own record, but not into another city
    refused = await client.put("/api/v1/commissioners/c-101", json=moved, headers=nanning)
    assert (refused.status_code, refused.json()["code"]) == (403, "out_of_scope")
