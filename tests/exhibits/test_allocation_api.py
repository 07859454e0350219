"""Allocation over the API: proposal with reasons, hand moves checked for conflicts, versioned releases, QR."""

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import segno

from services.exhibits.domain.allocation import violations
from services.exhibits.main import create_app
from services.exhibits.service.allocation import candidates, hall
from services.exhibits.store import SUBMISSIONS
from shared.testing import running_service
from tests.exhibits.conftest import Auth, Flow, exhibit, received, tap
from tests.exhibits.seed import accepted_doc
from tests.exhibits.seed import candidates as seeded

GRID = """
[[rows]]
zone = 1
prefix = "A"
count = 2
size_m2 = 9
power_kw = 1
network = true

[[rows]]
zone = 2
prefix = "E"
count = 1
size_m2 = 18
power_kw = 3
network = false

[[rows]]
zone = 3
block = "J"
prefix = "JA"
count = 2
size_m2 = 9
power_kw = 1
network = true

[[rows]]
zone = 3
block = "K"
prefix = "KA"
count = 1
size_m2 = 9
power_kw = 1
network = true
"""


def physical(title: str, zone: int, footprint: float, power: float = 0, **fields: Any) -> dict[str, Any]:
    obj = {"footprint_m2": footprint, "weight_kg": 50, "power_kw": power, "network": False}
    return {**exhibit(title, zone=zone, **fields), "physical_object": obj}


async def scored(flow: Flow, body: dict[str, Any], score: int) -> str:
    created = await flow.create(body)
    assert (await flow.review(created["id"], "rev", score)).status_code == 200
    assert (await flow.decide(created["id"], "accepted")).status_code == 200
    return str(created["id"])


async def test_propose_move_release_and_qr(settings_for: Callable[..., Any], auth: Auth, tmp_path: Path) -> None:
    grid = tmp_path / "booths.toml"
    grid.write_text(GRID)
    settings = settings_for("exhibits", exhibits_booths_file=grid, public_base_url="https://expo.example")
    async with running_service(create_app(settings)) as (runtime, client):
        queue = await tap(runtime, "exhibits.booth.#", "exhibits.allocation.#")
        flow = Flow(client, auth)
        await flow.assign("rev", [1, 2, 3])
        best = await scored(flow, physical("高分展品", 1, 6), 5)
        second = await scored(flow, physical("次高分展品", 1, 6), 3)
        power_hungry = await scored(flow, physical("大功率设备", 1, 6, power=3), 4)
        big = await scored(flow, physical("负压救护车", 2, 16, power=2), 4)
        unscored = (await flow.accepted(physical("无评分展品", 2, 4)))["id"]
        medicine = await scored(flow, physical("疫苗冷链箱", 3, 4, industry="生物医药"), 4)
        farming = await scored(flow, physical("甘蔗收获机模型", 3, 8, industry="现代农业"), 3)
        await flow.accepted(exhibit("线上展示的软件平台"))  # no physical object: not allocated

        proposed = await client.post("/api/v1/allocation/proposals", headers=flow.admin)
        assert proposed.status_code == 200, proposed.text
        plan = proposed.json()
        booth_of = {p["exhibit_id"]: p["booth_id"] for p in plan["placements"]}
        assert booth_of == {best: "1A01", second: "1A02", big: "2E01", medicine: "3JA01", farming: "3KA01"}
        reasons = {u["exhibit_id"]: u["reason"] for u in plan["unplaced"]}
        assert reasons == {power_hungry: "no_fitting_booth", unscored: "booths_taken"}
        assert all("/" in u["detail"] for u in plan["unplaced"])  # explained in Chinese and English
        assert plan["blocks"] == {"生物医药": "J", "现代农业": "K"}
        assert {z["zone"]: z["used_m2"] for z in plan["zones"]} == {1: 18, 2: 18, 3: 18}

        booth_grid = (await client.get("/api/v1/booths", headers=flow.admin)).json()["items"]
        assert [(b["id"], b["exhibit_id"]) for b in booth_grid if b["zone"] == 1] == [("1A01", best), ("1A02", second)]

        etag = proposed.headers["etag"]
        admin = {**flow.admin, "If-Match": etag}
        moves = "/api/v1/allocation/moves"
        taken = await client.post(moves, json={"exhibit_id": best, "booth_id": "1A02"}, headers=admin)
        assert taken.status_code == 409 and taken.json()["code"] == "booth_taken"
        wrong_zone = await client.post(moves, json={"exhibit_id": medicine, "booth_id": "3KA01"}, headers=admin)
        assert wrong_zone.status_code == 409 and wrong_zone.json()["code"] == "booth_taken"
        off = await client.post(moves, json={"exhibit_id": second, "booth_id": None}, headers=admin)
        assert off.status_code == 200, off.text
        admin["If-Match"] = off.headers["etag"]
        no_power = await client.post(moves, json={"exhibit_id": power_hungry, "booth_id": "1A02"}, headers=admin)
        assert no_power.status_code == 409 and no_power.json()["code"] == "allocation_conflict"
        assert any("power" in p for p in no_power.json()["problems"])
        mixed = await client.post(moves, json={"exhibit_id": farming, "booth_id": "3JA02"}, headers=admin)
        assert mixed.status_code == 409 and any("mixes" in p for p in mixed.json()["problems"])
        stale = await client.post(
            moves, json={"exhibit_id": second, "booth_id": "1A02"}, headers={**admin, "If-Match": etag}
        )
        assert stale.status_code == 412

        v1 = await client.post("/api/v1/allocation/releases", json={"changelog": "首版"}, headers=admin)
        assert v1.status_code == 201, v1.text
        assert (v1.json()["release"], v1.json()["placed"], v1.json()["changelog"]) == (1, 4, "首版 (+4 −0 ↔0)")
        published = await received(queue, 5)
        assert (
            sorted(e["type"] for e in published)
            == ["exhibits.allocation.released.v1"] + ["exhibits.booth.assigned.v1"] * 4
        )
        placements = next(e for e in published if e["type"] == "exhibits.allocation.released.v1")["data"]["placements"]
        assert len(placements) == 4 and {p["org_id"] for p in placements} == {"gxu"}  # reporting counts per unit

        back = await client.post(moves, json={"exhibit_id": second, "booth_id": "1A02"}, headers=admin)
        admin["If-Match"] = back.headers["etag"]
        await client.post(f"/api/v1/submissions/{big}/withdraw", headers=flow.org("gxu"))
        v2 = await client.post("/api/v1/allocation/releases", json={"changelog": ""}, headers=admin)
        assert v2.json()["release"] == 2 and v2.json()["placed"] == 4
        assert v2.json()["changelog"].startswith("+1 −1 ↔0") and big in v2.json()["changelog"]
        latest = (await client.get("/api/v1/allocation/releases/latest", headers=flow.admin)).json()
        assert {p["exhibit_id"] for p in latest["placements"]} == {best, second, medicine, farming}
        first = (await client.get("/api/v1/allocation/releases/1", headers=flow.admin)).json()
        assert big in {p["exhibit_id"] for p in first["placements"]}

        qr = await client.get("/api/v1/booths/1A01/qr.png")
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
        expected = io.BytesIO()
        segno.make("https://expo.example/expo/booths/1A01", error="m").save(expected, kind="png", scale=6, border=2)
        assert qr.content == expected.getvalue()
        assert (await client.get("/api/v1/booths/2E01/qr.png")).status_code == 404
        page = (await client.get(f"/api/v1/catalogue/{best}")).json()
        assert page["booth_id"] == "1A01"


async def test_seeded_300_in_the_database_are_placed_or_explained(settings_for: Callable[..., Any], auth: Auth) -> None:
    async with running_service(create_app(settings_for("exhibits", exhibits_city_cap=12))) as (runtime, client):
        pool = seeded(300)
        await runtime.db[SUBMISSIONS].insert_many([accepted_doc(c) for c in pool])
        response = await client.post("/api/v1/allocation/proposals", headers=auth("admin"))
        assert response.status_code == 200, response.text
        plan = response.json()
        placed = {p["exhibit_id"]: p["booth_id"] for p in plan["placements"]}
        explained = {u["exhibit_id"]: u["reason"] for u in plan["unplaced"]}
        assert len(placed) + len(explained) == 300 and not set(placed) & set(explained)
        assert violations(placed, await candidates(runtime), hall(runtime)) == []
        assert all(z["used_m2"] <= z["area_m2"] for z in plan["zones"])
        best = max(pool, key=lambda c: c.score)
        assert best.exhibit_id in placed or explained[best.exhibit_id] == "no_fitting_booth"
