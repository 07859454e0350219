"""Crafted input is refused with a 4xx problem, never a 500: cursors, the X-Request-ID header, dates and times."""

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.times import MAX_YEAR, MIN_YEAR
from tests.conftest import today
from tests.hostile.conftest import Services, assert_client_error_or_success, in_thread
from tests.registration.conftest import approved_venue, booking_body, published_openday
from tests.volunteers.conftest import DATES, commissioner, register, village

PROPERTY = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))

CURSOR_KEYS = ("after", "offset", "d", "i", "t", "id", "since", "after_t", "after_id")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
extreme_numbers = st.sampled_from([10**30, -(10**30), 2**63, -1, 1e308, -1e308, 10**400])
times = st.sampled_from(["2020-08-24T10:00:00", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00", "x"])
cursor_states = st.dictionaries(st.sampled_from(CURSOR_KEYS), json_values | extreme_numbers | times, max_size=4)


def encoded(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


cursors = (
    st.builds(encoded, json_values | cursor_states)
    | st.text(max_size=60)
    | st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode())
)

# (service, path, role or None for a public route)
CURSOR_ROUTES = [
    ("registration", "/api/v1/venues", "admin"),
    ("registration", "/api/v1/public/opendays", None),
    ("registration", "/api/v1/opendays/{openday}/bookings", "admin"),
    ("registration", "/api/v1/activities", "admin"),
    ("exhibits", "/api/v1/submissions", "admin"),
    ("exhibits", "/api/v1/review-queue", "reviewer"),
    ("exhibits", "/api/v1/catalogue", None),
    ("volunteers", "/api/v1/commissioners?city_code=450100", "admin"),
    ("volunteers", "/api/v1/assignments", "admin"),
    ("volunteers", "/api/v1/me/assignments", "volunteer"),
    ("volunteers", "/api/v1/flags", "admin"),
    ("reporting", "/api/v1/notifications", "admin"),
]


@pytest.fixture(scope="module")
async def seeded(services: Services) -> dict[str, str]:
    """An approved venue with a published open day and a confirmed booking's ticket (registration)."""
    client = services.client("registration")
    venue = await approved_venue(client, services.auth, operator="fuzz-operator")
    openday = await published_openday(client, venue, capacities=(9,))
    booked = await client.post("/api/v1/public/bookings", json=booking_body(openday["sessions"][0]["session_id"]))
    assert booked.status_code == 201, booked.text
    ticket = (await client.get(f"/api/v1/public/bookings/{booked.json()['code']}")).json()["ticket"]
    return {"venue": venue.id, "openday": openday["id"], "operator": "fuzz-operator", "ticket": ticket}


@pytest.mark.parametrize(("service", "path", "role"), CURSOR_ROUTES)
async def test_a_crafted_cursor_is_a_client_error(
    services: Services, seeded: dict[str, str], service: str, path: str, role: str | None
) -> None:
    headers = services.auth(role) if role else {}  # type: ignore[arg-type]
    url = path.format(**seeded)
    first_page = await services.client(service).get(url, headers=headers)
    assert first_page.status_code == 200, first_page.text  # the property below reaches the cursor

    @PROPERTY
    @given(cursor=cursors)
    @example(cursor=encoded({"offset": "x"}))
    @example(cursor=encoded({"offset": 10**30}))
    @example(cursor=encoded({"offset": 1e400}))
    @example(cursor=encoded({"since": "2020-08-24T10:00:00"}))
    @example(cursor=encoded({"t": "2020-08-24T10:00:00", "id": "n1"}))
    @example(cursor=encoded([1, 2]))
    def prop(cursor: str) -> None:
        assert_client_error_or_success(services.call(service, "GET", url, params={"cursor": cursor}, headers=headers))

    await in_thread(prop)


request_ids = st.binary(min_size=1, max_size=80).filter(lambda b: not set(b) & {0, 10, 13})


@pytest.mark.parametrize(
    ("service", "path", "role"),
    [(s, "/healthz", None) for s in ("registration", "exhibits", "volunteers", "reporting")]
    + [("exhibits", "/api/v1/catalogue", None), ("volunteers", "/api/v1/me/assignments", "volunteer")],
)
async def test_any_request_id_header_is_answered_without_a_server_error(
    services: Services, service: str, path: str, role: str | None
) -> None:
    auth = services.auth(role) if role else {}  # type: ignore[arg-type]

    @PROPERTY
    @given(request_id=request_ids)
    @example(request_id=b"\xff\xfe bad")
    @example(request_id="请求-1".encode())
    def prop(request_id: bytes) -> None:
        response = services.call(service, "GET", path, headers={**auth, "X-Request-ID": request_id})
        assert_client_error_or_success(response)
        assert response.headers["x-request-id"]

    await in_thread(prop)


async def test_a_readable_request_id_is_kept(services: Services) -> None:
    response = await services.client("registration").get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"


OFFSETS = [timezone(timedelta(hours=h)) for h in (-12, -5, 0, 8, 14)]
instants = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
iso_times = st.tuples(instants, st.sampled_from([None, *OFFSETS])).map(
    lambda t: t[0].replace(tzinfo=t[1]).isoformat()
) | st.sampled_from(["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00", "2020-08-24T10:00:00"])
iso_days = st.dates().map(str) | st.sampled_from(["0001-01-01", "9999-12-31"])


def check_time_input(response: httpx.Response, value: str, zone_required: bool = True) -> None:
    """A time without a zone (where one is required) or outside the years we accept is a 422; nothing is a 500."""
    assert_client_error_or_success(response)
    when = datetime.fromisoformat(value)
    if (zone_required and when.tzinfo is None) or not MIN_YEAR <= when.year <= MAX_YEAR:
        assert response.status_code == 422, (value, response.text)
        assert response.json()["code"] == "validation_error"


def extreme_time_examples(fn: Any) -> Any:
    for value in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00", "2020-08-24T10:00:00"):
        fn = example(value)(fn)
    return fn


async def test_open_day_windows_and_dates_at_the_ends_of_time(services: Services, seeded: dict[str, str]) -> None:
    operator = services.auth("venue", seeded["operator"])
    url = f"/api/v1/venues/{seeded['venue']}/opendays"
    day = str(today() + timedelta(days=3))

    @PROPERTY
    @given(at=iso_times, other_day=iso_days)
    @example(at="0001-01-01T00:00:00+08:00", other_day="0001-01-01")
    @example(at="9999-12-31T23:59:59-05:00", other_day="9999-12-31")
    def prop(at: str, other_day: str) -> None:
        sessions = [{"start": "00:00", "end": "23:59", "capacity": 1}]
        for window in ({"booking_opens_at": at}, {"booking_closes_at": at}):
            body = {"date": day, "sessions": sessions, **window}
            response = services.call("registration", "POST", url, json=body, headers=operator)
            check_time_input(response, at)
        body = {"date": other_day, "sessions": sessions}
        check_time_input(services.call("registration", "POST", url, json=body, headers=operator), other_day, False)
        listed = services.call("registration", "GET", "/api/v1/public/opendays", params={"date": other_day})
        check_time_input(listed, other_day, zone_required=False)

    await in_thread(prop)


async def test_offline_scans_at_the_ends_of_time(services: Services, seeded: dict[str, str]) -> None:
    operator = services.auth("venue", seeded["operator"])
    url = f"/api/v1/venues/{seeded['venue']}/checkins/batch"

    @PROPERTY
    @given(at=iso_times)
    @extreme_time_examples
    def prop(at: str) -> None:
        body = {"scans": [{"scan_id": str(uuid.uuid4()), "token": seeded["ticket"], "scanned_at": at}]}
        check_time_input(services.call("registration", "POST", url, json=body, headers=operator), at)

    await in_thread(prop)


@pytest.fixture(scope="module")
async def assignment(services: Services) -> str:
    """A commissioner's visit (volunteers), for device times that reach the database."""
    client, admin = services.client("volunteers"), services.auth("admin")
    await register(client, lambda *a, **k: admin, [commissioner("c-fuzz")], [village("v-fuzz")], households=1)
    body = {
        "commissioner_id": "c-fuzz",
        "city_code": "450100",
        "village_code": "v-fuzz",
        "visit_date": DATES[0],
        "household_ids": ["v-fuzz-h1"],
    }
    created = await client.post("/api/v1/assignments", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_device_times_at_the_ends_of_time(services: Services, assignment: str) -> None:
    phone = services.auth("volunteer", "c-fuzz")

    @PROPERTY
    @given(at=iso_times, kind=st.sampled_from(["accept", "decline", "check_in"]))
    @example(at="0001-01-01T00:00:00+08:00", kind="accept")
    @example(at="9999-12-31T23:59:59-05:00", kind="accept")
    def prop(at: str, kind: str) -> None:
        payload = (
            {"reason": "有事"} if kind == "decline" else {"lat": 23.16, "lon": 108.27} if kind == "check_in" else {}
        )
        operation = {"op_id": str(uuid.uuid4()), "type": kind, "assignment_id": assignment, "device_time": at}
        batch = {"operations": [{**operation, "payload": payload}]}
        response = services.call("volunteers", "POST", "/api/v1/sync", json=batch, headers=phone)
        check_time_input(response, at)
        url = f"/api/v1/assignments/{assignment}/{kind.replace('_', '-')}"
        single = services.call("volunteers", "POST", url, json={"device_time": at, **payload}, headers=phone)
        check_time_input(single, at)

    await in_thread(prop)


async def test_deadline_exceptions_at_the_ends_of_time(services: Services) -> None:
    admin = services.auth("admin")

    @PROPERTY
    @given(at=iso_times)
    @extreme_time_examples
    def prop(at: str) -> None:
        url = "/api/v1/summaries/450100/exception"
        check_time_input(services.call("reporting", "POST", url, json={"until": at}, headers=admin), at)
        assert_client_error_or_success(services.call("reporting", "GET", "/api/v1/deadlines", headers=admin))

    await in_thread(prop)
