"""HTTP routes of the registration service (skeleton: venue registration)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.registration.store import VENUES
from shared.app import RuntimeDep
from shared.auth import Principal, require_roles
from shared.contracts.registration import VenueRegistered
from shared.envelope import new_event
from shared.mongo import Session, utcnow
from shared.outbox import add_to_outbox
from shared.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["registration"])
Operator = Annotated[Principal, Depends(require_roles("venue", "admin"))]
Reader = Annotated[Principal, Depends(require_roles("venue", "city", "admin"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
OrgType = Literal["research_institute", "high_tech_enterprise", "science_base", "science_museum", "university"]


class VenueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    org_type: OrgType
    city_code: str = Field(pattern=r"^\d{6}$")
    address: str = Field(default="", max_length=300)


class Venue(VenueIn):
    id: str
    status: str
    owner: str


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: doc[k] for k in ("name", "org_type", "city_code", "address", "status", "owner")}}


@router.post("/venues", status_code=201, response_model=Venue)
async def register_venue(
    body: VenueIn, rt: RuntimeDep, actor: Operator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """登记开放场馆（待审核）/ Register a venue; it awaits approval by the city."""
    if rt.programme.city(body.city_code) is None:
        raise Problem(422, "unknown_city", detail=f"未知的城市代码 / unknown city code {body.city_code}")
    doc = {
        "_id": str(uuid.uuid4()),
        **body.model_dump(),
        "status": "pending",
        "owner": actor.sub,
        "created_at": utcnow(),
    }
    event = new_event(
        "registration.venue.registered.v1",
        VenueRegistered(venue_id=doc["_id"], city_code=body.city_code, name=body.name, org_type=body.org_type),
        source=rt.settings.source,
        subject=f"venue/{doc['_id']}",
    )

    async def txn(session: Session) -> tuple[int, dict[str, Any]]:
        await rt.db[VENUES].insert_one(doc, session=session)
        await add_to_outbox(rt.db, session, event)
        return 201, _view(doc)

    key = f"{actor.sub}:register_venue:{idempotency_key}" if idempotency_key else None
    status, view = await rt.commit_once(key, body.model_dump(), txn)
    return JSONResponse(view, status_code=status)


@router.get("/venues/{venue_id}", response_model=Venue)
async def get_venue(venue_id: str, rt: RuntimeDep, actor: Reader) -> dict[str, Any]:
    """查看场馆 / One venue, within the caller's scope."""
    doc = await rt.db[VENUES].find_one({"_id": venue_id})
    if doc is None:
        raise Problem(404, "venue_not_found", detail="场馆不存在 / no such venue")
    own = actor.role == "venue" and (doc["owner"] == actor.sub or venue_id in actor.venues)
    if not (own or actor.may_act_for_city(doc["city_code"])):
        raise Problem(403, "out_of_scope", detail="无权查看该场馆 / not your venue")
    return _view(doc)
