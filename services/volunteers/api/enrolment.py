"""Phones enrolled by QR code: coordinators create, print, list and revoke; a revoked device is refused."""

import html
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from services.volunteers.api.common import PAGE, Body, ShortText
from services.volunteers.domain.enrolment import link
from services.volunteers.service import enrolment
from shared.app import Runtime, RuntimeDep, api_router
from shared.auth import Commissioner, Coordinator
from shared.http import AfterId, IdempotencyKey, decode_cursor, encode_cursor
from shared.openapi import problem_responses
from shared.problems import Problem

router = api_router(tags=["enrolment"])
CityCode = Annotated[str, Query(pattern=r"^\d{6}$")]
PRIVATE = {"Cache-Control": "no-store"}  # a QR code or a link is the phone's credential


async def enrolment_in_force(request: Request) -> None:
    """Every volunteers route: a device credential whose enrolment was revoked gets 401 `enrolment_revoked`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return  # the route's own role check answers
    runtime: Runtime = request.app.state.runtime
    try:
        principal = runtime.verifier.verify(token)
    except Problem:
        return  # an invalid token: the route's own check answers 401
    await enrolment.check_in_force(runtime, principal)


class EnrolmentIn(Body):
    commissioner_id: ShortText
    label: str = Field(default="", max_length=100)  # e.g. which phone


def app_url(rt: Runtime, request: Request) -> str:
    return rt.settings.volunteers_app_url or f"{request.base_url}app/"


def _with_link(rt: Runtime, request: Request, view: dict[str, Any]) -> dict[str, Any]:
    token = enrolment.credential(rt, view)
    return {**view, "token": token, "link": link(app_url(rt, request), token), "qr": f"enrolments/{view['id']}/qr.png"}


@router.post("/enrolments", status_code=201, responses=problem_responses(404))  # an unknown commissioner
async def create_enrolment(
    body: EnrolmentIn, request: Request, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """为特派员的手机生成登记二维码与链接 / Enrol a commissioner's phone: a link and QR code holding its credential."""
    view = await enrolment.create_enrolment(rt, actor, body.commissioner_id, body.label, idempotency_key)
    return _with_link(rt, request, view)


@router.post("/enrolments/city/{city_code}", status_code=201)
async def enrol_city(
    city_code: str, request: Request, rt: RuntimeDep, actor: Coordinator, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """为本市尚未登记的特派员各生成一个登记 / Enrol every commissioner of the city who has no active enrolment."""
    created = await enrolment.enrol_city(rt, actor, city_code, idempotency_key)
    return {"created": [_with_link(rt, request, v) for v in created["created"]]}


@router.get("/enrolments")
async def list_enrolments(
    rt: RuntimeDep,
    actor: Coordinator,
    city_code: CityCode,
    commissioner_id: str | None = None,
    status: Literal["active", "revoked"] | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """本市的手机登记（不含凭证）/ The city's enrolments, without credentials."""
    after = decode_cursor(cursor, AfterId).after if cursor else None
    docs = await enrolment.list_enrolments(rt, actor, city_code, commissioner_id, status, after, PAGE)
    nxt = encode_cursor({"after": docs[-1]["_id"]}) if len(docs) == PAGE else None
    return {"items": [enrolment.view(d) for d in docs], "next_cursor": nxt}


@router.get("/enrolments/sheet", response_class=HTMLResponse)
async def enrolment_sheet(request: Request, rt: RuntimeDep, actor: Coordinator, city_code: CityCode) -> HTMLResponse:
    """可打印的全市登记二维码页 / A printable page of the city's active enrolments' QR codes."""
    docs, after = [], None
    while True:
        page = await enrolment.list_enrolments(rt, actor, city_code, None, "active", after, PAGE)
        docs += page
        if len(page) < PAGE:
            break
        after = page[-1]["_id"]
    city = rt.programme.city(city_code)
    cards = [_card(rt, request, enrolment.view(d)) for d in docs]
    return HTMLResponse(
        _SHEET.format(city=html.escape(city.name if city else city_code), cards="".join(cards)), 200, PRIVATE
    )


@router.get("/enrolments/{enrolment_id}")
async def get_enrolment(enrolment_id: str, request: Request, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """一个登记及其链接（可再次打印）/ One enrolment with its link, to show or print again."""
    view = enrolment.view(await enrolment.get_enrolment(rt, actor, enrolment_id))
    return _with_link(rt, request, view) if view["status"] == "active" else view


@router.get("/enrolments/{enrolment_id}/qr.png", response_class=Response)
async def enrolment_qr(enrolment_id: str, request: Request, rt: RuntimeDep, actor: Coordinator) -> Response:
    """登记二维码（PNG）/ The enrolment's QR code as PNG."""
    view = enrolment.view(await enrolment.get_enrolment(rt, actor, enrolment_id))
    if view["status"] != "active":
        raise Problem(410, "enrolment_revoked", detail="该登记已撤销 / this enrolment was revoked")
    text = _with_link(rt, request, view)["link"]
    return Response(enrolment.qr_png(text), media_type="image/png", headers=PRIVATE)


@router.post("/enrolments/{enrolment_id}/revoke")
async def revoke_enrolment(enrolment_id: str, rt: RuntimeDep, actor: Coordinator) -> dict[str, Any]:
    """撤销一部手机的登记（丢失、换人）；再次撤销无副作用 / Revoke a phone's enrolment (idempotent)."""
    return enrolment.view(await enrolment.revoke_enrolment(rt, actor, enrolment_id))


@router.get("/me", responses=problem_responses(404))  # a token naming no registered commissioner
async def me(rt: RuntimeDep, actor: Commissioner) -> dict[str, Any]:
    """手机端：我是谁、登记状态、签到范围等规则 / The phone's owner, enrolment and the rules it checks offline."""
    return await enrolment.whoami(rt, actor)


def _card(rt: Runtime, request: Request, view: dict[str, Any]) -> str:
    target = _with_link(rt, request, view)["link"]
    return _CARD.format(
        name=html.escape(view["commissioner_name"]),
        id=html.escape(view["commissioner_id"]),
        label=html.escape(view["label"]),
        qr=enrolment.qr_svg(target),
        expires=view["expires_at"][:10],
    )


_CARD = """<figure class="card">{qr}<figcaption><b>{name}</b> <span>{id}</span> <i>{label}</i>
<small>用手机相机扫码，在浏览器中打开后“添加到主屏幕”。有效期至 {expires}。请勿转给他人。</small>
</figcaption></figure>"""
_SHEET = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{city} 科技特派员手机登记二维码</title>
<style>
body{{font-family:sans-serif;margin:12mm}} h1{{font-size:16pt}}
main{{display:grid;grid-template-columns:repeat(3,1fr);gap:6mm}}
.card{{margin:0;border:1px dashed #999;padding:4mm;break-inside:avoid;text-align:center}}
.card svg{{width:48mm;height:48mm}} figcaption b{{font-size:13pt}}
figcaption small{{display:block;color:#555;margin-top:2mm}} @page{{size:A4;margin:10mm}}
</style></head>
<body><h1>{city} 科技特派员手机登记二维码（走访 App）</h1><main>{cards}</main></body></html>"""
