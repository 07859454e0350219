"""Shared HTTP conventions, GridFS media and spreadsheet import/export."""

import asyncio
import io
from datetime import UTC, date, datetime, timedelta
from ipaddress import ip_network
from typing import Any

import pytest
from fastapi import Request, UploadFile
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pydantic import BaseModel, Field, ValidationError

from shared.http import AfterId, RateLimiter, SweptMemoryStorage, decode_cursor, encode_cursor, etag, require_match
from shared.media import IMAGES, media_response, store_upload
from shared.mongo import connect_mongo
from shared.problems import Problem, violation_problem
from shared.rules import RuleViolation
from shared.tabular import read_rows, validate_rows, xlsx_bytes
from shared.times import MAX_YEAR, MIN_YEAR, Day, Instant

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def status_of(call: Any, *args: Any) -> int:
    """The HTTP status the domain error raised by `call` is answered with."""
    with pytest.raises(RuleViolation) as caught:
        call(*args)
    return violation_problem(caught.value).status


def test_if_match() -> None:
    require_match(etag(3), 3)
    assert status_of(require_match, None, 3) == 428
    assert status_of(require_match, etag(2), 3) == 412


class Page(BaseModel):
    after: str = ""
    offset: int = Field(default=0, ge=0, le=1000)


def test_cursor_round_trip_and_garbage() -> None:
    state = {"after": "2020-08-24T10:00:00+00:00", "offset": 7}
    assert decode_cursor(encode_cursor(state), Page) == Page(**state)
    assert decode_cursor(encode_cursor({"after": "a1"}), AfterId).after == "a1"
    assert status_of(decode_cursor, "%%%not-a-cursor", Page) == 400
    assert status_of(decode_cursor, encode_cursor({"x": 1})[:-3] + "A==", Page) == 400
    assert status_of(decode_cursor, encode_cursor({"offset": "x"}), Page) == 400
    assert status_of(decode_cursor, encode_cursor([1, 2]), Page) == 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["after", "offset", "x"]), inner),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, database=None)
@given(cursor=st.text(max_size=80) | json_values.map(lambda v: encode_cursor(v) if isinstance(v, dict) else str(v)))
def test_any_cursor_decodes_to_its_shape_or_is_a_400(cursor: str) -> None:
    try:
        page = decode_cursor(cursor, Page)
    except RuleViolation as exc:
        assert (exc.code, violation_problem(exc).status) == ("invalid_cursor", 400)
    else:
        assert isinstance(page.after, str) and 0 <= page.offset <= 1000


class Moment(BaseModel):
    at: Instant
    day: Day | None = None


@settings(max_examples=300, deadline=None, database=None)
@given(at=st.datetimes(timezones=st.none() | st.timezones()), day=st.dates())
def test_instants_have_a_zone_and_days_a_year_far_from_the_calendars_ends(at: datetime, day: date) -> None:
    try:
        moment = Moment(at=at, day=day)
    except ValidationError:
        assert at.tzinfo is None or not MIN_YEAR <= at.year <= MAX_YEAR or not MIN_YEAR <= day.year <= MAX_YEAR
    else:
        # what the services do with a moment and a day cannot overflow
        assert moment.at.astimezone(UTC) - timedelta(days=1) < moment.at + timedelta(days=366)
        assert moment.day is not None and moment.day + timedelta(days=366) > moment.day - timedelta(days=366)


async def test_rate_limiter_says_when_to_retry() -> None:
    limiter = RateLimiter("3/minute")
    for _ in range(3):
        await limiter.check("1.2.3.4")
    with pytest.raises(Problem) as caught:
        await limiter.check("1.2.3.4")
    assert caught.value.status == 429 and int((caught.value.headers or {})["Retry-After"]) >= 1
    await limiter.check("5.6.7.8")  # another client is not affected


async def test_the_limiter_forgets_expired_clients_without_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SweptMemoryStorage, "SWEEP_S", 0.05)
    limiter = RateLimiter("2/second")
    await limiter.check("1.2.3.4")
    assert not limiter.storage.timer.is_alive()  # no sweeping thread (it held the GIL from the event loop)
    await asyncio.sleep(1.1)  # the first client's second has passed
    await limiter.check("5.6.7.8")  # sweeps first
    assert [key.split("/")[1] for key in limiter.storage.events] == ["5.6.7.8"]  # the first is forgotten entirely
    await limiter.check("5.6.7.8")
    with pytest.raises(Problem):
        await limiter.check("5.6.7.8")  # and limits still hold


def client_of(limiter: RateLimiter, peer: str, *forwarded: str) -> str:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return limiter.client(Request({"type": "http", "headers": headers, "client": (peer, 50000)}))


def test_the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    nobody = RateLimiter("3/minute")
    assert client_of(nobody, "203.0.113.9", "1.2.3.4") == "203.0.113.9"
    assert client_of(nobody, "127.0.0.1", "1.2.3.4") == "127.0.0.1"  # not even localhost is trusted by default
    proxies = RateLimiter("3/minute", [ip_network("10.0.0.0/8"), ip_network("127.0.0.1"), ip_network("fd00::/8")])
    assert client_of(proxies, "203.0.113.9", "1.2.3.4") == "203.0.113.9"  # a client cannot pose as a proxy
    assert client_of(proxies, "10.0.0.5", "spoofed, 198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert client_of(proxies, "127.0.0.1", "spoofed", "198.51.100.7") == "198.51.100.7"  # headers are one list
    assert client_of(proxies, "fd00::1", "2001:db8::7") == "2001:db8::7"
    assert client_of(proxies, "10.0.0.5", "10.0.0.8, 10.0.0.9") == "10.0.0.8"  # all ours: the furthest
    assert client_of(proxies, "10.0.0.5") == "10.0.0.5"  # the proxy itself, no header
    assert client_of(proxies, "10.0.0.5", "10.0.0.8, not-an-address") == "not-an-address"


def test_xlsx_writes_text_that_looks_like_a_formula_as_text() -> None:
    texts = ['=HYPERLINK("http://x")', "=cmd|' /C calc'!A0", "+1", "-1", "@A1", "\t=1", "\r=1", "=1+1"]
    content = xlsx_bytes({"s": (["text", "number"], [[text, -1] for text in texts] + [["bell\x07", 0]])})
    sheet = load_workbook(io.BytesIO(content))["s"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.data_type for c in cells] == ["s"] * len(cells)
    assert [c.value for c in cells] == [t.replace("\r", "\n") for t in texts] + ["bell"]
    assert [c.quotePrefix for c in cells] == [True] * len(texts) + [False]
    assert {row[1].value for row in sheet.iter_rows(min_row=2)} == {-1, 0}  # numbers stay numbers


async def test_media_is_checked_by_content_and_idempotent_by_id(mongodb_url: str, namespace: str) -> None:
    mongo = connect_mongo(mongodb_url)
    db = mongo[f"{namespace}_media"]
    try:

        def upload(body: bytes) -> UploadFile:
            return UploadFile(io.BytesIO(body), filename="photo.png")

        stored = await store_upload(db, upload(PNG), file_id="p1", allowed=IMAGES, max_bytes=1000, metadata={})
        again = await store_upload(db, upload(PNG), file_id="p1", allowed=IMAGES, max_bytes=1000, metadata={})
        assert stored == again == {"id": "p1", "content_type": "image/png", "size": len(PNG)}
        with pytest.raises(Problem) as caught:
            await store_upload(
                db, upload(b"MZ" + b"\x00" * 50), file_id="p2", allowed=IMAGES, max_bytes=1000, metadata={}
            )
        assert caught.value.status == 415
        with pytest.raises(Problem) as caught:
            await store_upload(db, upload(PNG * 20), file_id="p3", allowed=IMAGES, max_bytes=1000, metadata={})
        assert caught.value.status == 413
        response = await media_response(db, "p1")
        assert response.media_type == "image/png"
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]
        assert body == PNG
        with pytest.raises(Problem):
            await media_response(db, "missing")
    finally:
        await mongo.close()


class Village(BaseModel):
    code: str = Field(pattern=r"^\d{12}$")
    name: str
    households: int = Field(ge=0)


def test_csv_in_utf8_bom_and_gb18030_with_row_errors() -> None:
    text = "Code,Name,Households\n450102001001,那马村,12\n\n4501,坏村,-1\n"
    for encoding in ("utf-8-sig", "gb18030"):
        rows = read_rows("villages.csv", text.encode(encoding))
        valid, errors = validate_rows(rows, Village)
        assert [v.name for v in valid] == ["那马村"]
        assert {(e["line"], e["field"]) for e in errors} == {(4, "code"), (4, "households")}


def test_csv_with_bare_carriage_returns_reads_and_a_broken_one_is_a_422() -> None:
    rows = read_rows("villages.csv", b"code,name\rv-1,\xe9\x82\xa3\xe9\xa9\xac\rv-2,x\r")
    assert rows == [(2, {"code": "v-1", "name": "那马"}), (3, {"code": "v-2", "name": "x"})]
    with pytest.raises(Problem) as refused:
        read_rows("villages.csv", b"code,name\n" + b"x" * 200_000 + b",y\n")  # past csv's field size limit
    assert (refused.value.status, refused.value.code) == (422, "unreadable_file")


def test_xlsx_round_trip() -> None:
    content = xlsx_bytes({"村屯": (["code", "name", "households"], [["450102001001", "那马村", 12]])})
    rows = read_rows("villages.xlsx", content)
    assert rows == [(2, {"code": "450102001001", "name": "那马村", "households": "12"})]
    assert load_workbook(io.BytesIO(content)).sheetnames == ["村屯"]
