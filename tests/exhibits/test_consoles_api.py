"""What the consoles read and do beyond the lifecycle: exhibitor invitations, the exhibition and its criteria,
the booth map with the working plan, moves against its ETag, the releases' changelog and the exhibitor's booth."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from services.exhibits.main import create_app
from shared.testing import running_service
from tests.exhibits.conftest import Auth, Flow, exhibit
from tests.exhibits.test_allocation_api import GRID, physical, scored

Service = tuple[Any, httpx.AsyncClient]
INVITE = "/api/v1/exhibitor-invitations"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_invited_exhibitor_submits_as_its_organisation_until_revoked(exhibits: Service, flow: Flow) -> None:
    _, client = exhibits
    body = {
        "label": "广西大学 李老师",
        "org_id": "gxu",
        "city_code": "450100",
        "link_base": "https://x.example/exhibitor/",
    }
    made = await client.post(INVITE, json=body, headers=flow.admin)
    assert made.status_code == 201, made.text
    assert made.json()["link"].startswith("https://x.example/exhibitor/#invite=")
    assert made.json()["qr"].startswith("data:image/png;base64,")
    as_exhibitor = await client.post(INVITE, json=body, headers=flow.org("gxu"))
    assert as_exhibitor.status_code == 403

    accept = {"secret": made.json()["secret"], "device_id": "device-one-1"}
    first = await client.post(f"{INVITE}/accept", json=accept)
    again = await client.post(f"{INVITE}/accept", json=accept)
    other = await client.post(f"{INVITE}/accept", json={**accept, "device_id": "device-two-2"})
    assert first.status_code == again.status_code == 200 and other.json()["code"] == "invitation_used"
    assert (first.json()["org_id"], first.json()["city_code"]) == ("gxu", "450100")
    token = bearer(first.json()["token"])

    created = await client.post("/api/v1/submissions", json=exhibit("甘蔗收获机"), headers=token)
    assert created.status_code == 201, created.text
    assert (created.json()["org_id"], created.json()["city_code"]) == ("gxu", "450100")
    assert (await client.get("/api/v1/submissions", headers=flow.org("gxu"))).json()["items"][0][
        "title"
    ] == "甘蔗收获机"

    invitation_id = made.json()["id"]
    revoked = await client.post(f"{INVITE}/{invitation_id}/revoke", headers=flow.admin)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    locked = await client.get("/api/v1/submissions", headers=token)
    assert locked.status_code == 401 and locked.json()["code"] == "credential_revoked"
    listed = (await client.get(INVITE, headers=flow.admin)).json()
    assert [(i["org_id"], i["status"]) for i in listed] == [("gxu", "revoked")]
    assert "secret" not in listed[0]
    gone = await client.post(f"{INVITE}/accept", json=accept)
    assert gone.status_code == 404 and gone.json()["code"] == "invitation_invalid"
    assert (await client.post(f"{INVITE}/nope/revoke", headers=flow.admin)).status_code == 404


async def test_the_criteria_and_the_exhibition_come_from_the_configuration(
    settings_for: Callable[..., Any], auth: Auth
) -> None:
    weights = {"advancement": 3.0, "novelty": 1.0}
    async with running_service(create_app(settings_for("exhibits", exhibits_criteria=weights))) as (_, client):
        criteria = (await client.get("/api/v1/review-criteria")).json()
        assert [(c["id"], c["name"], c["weight"], c["share"]) for c in criteria["items"]] == [
            ("advancement", "技术先进性", 3.0, 0.75),
            ("novelty", "novelty", 1.0, 0.25),  # weighted but not described in the programme: shown by its id
        ]
        assert "自主创新" in criteria["items"][0]["description"]
        assert criteria["scale"] == {"min": 1, "max": 5} and criteria["aggregate"] == "mean"
        facts = (await client.get("/api/v1/exhibition")).json()
        assert facts["hall"] == "D8" and [z["id"] for z in facts["zones"]] == [1, 2, 3]
        assert "生物医药" in facts["zones"][2]["industries"] and facts["open"] is True


async def test_the_booth_map_shows_the_plan_and_a_move_checked_by_the_api(
    settings_for: Callable[..., Any], auth: Auth, tmp_path: Path
) -> None:
    grid = tmp_path / "booths.toml"
    grid.write_text(GRID)
    async with running_service(create_app(settings_for("exhibits", exhibits_booths_file=grid))) as (_, client):
        flow = Flow(client, auth)
        await flow.assign("rev", [1, 2, 3])
        empty = await client.get("/api/v1/allocation/floor-plan", headers=flow.admin)
        assert empty.status_code == 200 and empty.json()["version"] == 0 and empty.json()["exhibits"] == []
        best = await scored(flow, physical("高分展品", 1, 6), 5)
        hungry = await scored(flow, physical("大功率设备", 1, 6, power=3), 4)
        await client.post("/api/v1/allocation/proposals", headers=flow.admin)

        response = await client.get("/api/v1/allocation/floor-plan", headers=flow.admin)
        plan = response.json()
        assert response.headers["etag"] == '"1"' and plan["hall"] == "D8"
        booths = {b["id"]: b for b in plan["booths"]}
        assert set(booths) == {"1A01", "1A02", "2E01", "3JA01", "3JA02", "3KA01"}
        assert booths["1A01"]["exhibit_id"] == best and booths["1A02"]["exhibit_id"] is None
        assert all(b["width"] * b["depth"] == b["size_m2"] and b["x"] >= 0 and b["y"] > 0 for b in booths.values())
        exhibits = {e["id"]: e for e in plan["exhibits"]}
        assert exhibits[best]["title"] == "高分展品" and exhibits[hungry]["power_kw"] == 3
        assert [(u["exhibit_id"], u["reason"]) for u in plan["unplaced"]] == [(hungry, "no_fitting_booth")]
        assert [z["used_m2"] for z in plan["zones"]] == [9, 0, 0]
        assert (await client.get("/api/v1/allocation/floor-plan", headers=flow.org("gxu"))).status_code == 403

        admin = {**flow.admin, "If-Match": response.headers["etag"]}
        moved = await client.post(
            "/api/v1/allocation/moves", json={"exhibit_id": best, "booth_id": "1A02"}, headers=admin
        )
        assert moved.status_code == 200, moved.text
        after = (await client.get("/api/v1/allocation/floor-plan", headers=flow.admin)).json()
        assert {b["id"]: b["exhibit_id"] for b in after["booths"] if b["exhibit_id"]} == {"1A02": best}

        mine = await client.get(f"/api/v1/submissions/{best}", headers=flow.org("gxu"))
        assert mine.json()["booth_id"] is None and mine.json()["release"] is None
        admin["If-Match"] = moved.headers["etag"]
        await client.post("/api/v1/allocation/releases", json={"changelog": "首版"}, headers=admin)
        await client.post("/api/v1/allocation/releases", json={"changelog": "复核"}, headers=admin)
        releases = (await client.get("/api/v1/allocation/releases", headers=flow.admin)).json()["items"]
        assert [(r["release"], r["placed"], r["changelog"]) for r in releases] == [
            (2, 1, "复核 (+0 −0 ↔0)"),
            (1, 1, "首版 (+1 −0 ↔0)"),
        ]
        mine = await client.get(f"/api/v1/submissions/{best}", headers=flow.org("gxu"))
        assert (mine.json()["booth_id"], mine.json()["release"]) == ("1A02", 2)
        listed = (await client.get("/api/v1/submissions", headers=flow.org("gxu"))).json()["items"]
        assert {s["id"]: s["booth_id"] for s in listed} == {best: "1A02", hungry: None}
