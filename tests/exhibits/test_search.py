"""The cloud exhibition: Chinese full-text search over a seeded catalogue, filters, views, live updates."""

from typing import Any

import httpx
import pytest

from shared.app import Runtime
from tests.exhibits.conftest import Flow, exhibit

Service = tuple[Runtime, httpx.AsyncClient]

CATALOGUE: dict[str, dict[str, Any]] = {
    "kit": exhibit("新冠病毒快速检测试剂盒", zone=2, summary="十五分钟出结果的抗原检测"),
    "lab": exhibit("核酸检测移动方舱实验室", zone=2, summary="可快速部署到县城"),
    "beidou": exhibit("北斗卫星导航高精度定位终端", summary="厘米级定位服务于精准农业"),
    "cane": exhibit("甘蔗全程机械化收获机", zone=3, industry="现代农业", summary="一台机器顶百人"),
    "buoy": exhibit("海洋牧场智能监测浮标", summary="北部湾近海水质在线监测"),
    "robot": exhibit("变电站智能巡检机器人", zone=3, industry="先进装备制造", summary="无人值守巡视"),
    "silk": exhibit("桑蚕智能养殖系统", zone=3, industry="现代农业", summary="温湿度自动调控"),
    "herb": exhibit("中药材质量检验平台", zone=3, industry="生物医药", summary="道地药材溯源与鉴别"),
    "mask": exhibit("医用防护口罩生产线", zone=2, summary="熔喷布有效阻隔病毒与细菌"),
}


@pytest.fixture
async def catalogue(exhibits: Service, flow: Flow) -> dict[str, str]:
    ids = {}
    for key, body in CATALOGUE.items():
        city = "450500" if key == "buoy" else "450100"
        ids[key] = (await flow.accepted(body, org="gxast" if key == "buoy" else "gxu", city=city))["id"]
    return ids


async def found(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/v1/catalogue", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


QUERIES: list[tuple[str, set[str]]] = [
    ("检测", {"kit", "lab"}),  # not 检验 (herb), not 监测 (buoy)
    ("快速检测", {"kit"}),  # four characters: 核酸检测 (lab) has 检测 but not 快速检测
    ("北斗", {"beidou"}),
    ("机器人", {"robot"}),
    ("智能", {"buoy", "robot", "silk"}),
    ("蚕", {"silk"}),  # one character
    ("药材", {"herb"}),  # found in the summary as well as the title
    ("农业", {"beidou"}),  # summary only ("精准农业"); 现代农业 is an industry, not text
    ("火箭", set()),
    ("   ", {"kit", "lab", "beidou", "cane", "buoy", "robot", "silk", "herb", "mask"}),
]


async def test_queries_find_expected_exhibits_and_not_unrelated_ones(
    exhibits: Service, catalogue: dict[str, str]
) -> None:
    _, client = exhibits
    names = {v: k for k, v in catalogue.items()}
    for query, expected in QUERIES:
        assert {names[i] for i in await found(client, q=query, limit=50)} == expected, query


async def test_title_matches_rank_above_summary_matches(exhibits: Service, catalogue: dict[str, str]) -> None:
    _, client = exhibits
    assert await found(client, q="病毒") == [catalogue["kit"], catalogue["mask"]]
    assert (await found(client, q="定位"))[0] == catalogue["beidou"]


async def test_filters_and_pages(exhibits: Service, catalogue: dict[str, str]) -> None:
    _, client = exhibits
    assert set(await found(client, q="智能", zone=3)) == {catalogue["robot"], catalogue["silk"]}
    assert set(await found(client, industry="现代农业")) == {catalogue["cane"], catalogue["silk"]}
    assert await found(client, city_code="450500") == [catalogue["buoy"]]
    assert await found(client, org_id="gxast", q="智能") == [catalogue["buoy"]]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        page = (await client.get("/api/v1/catalogue", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(catalogue.values())
    bad = await client.get("/api/v1/catalogue", params={"cursor": "%%%"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_searchable_as_soon_as_accepted_and_gone_when_withdrawn(exhibits: Service, flow: Flow) -> None:
    _, client = exhibits
    created = await flow.create(exhibit("智能电网调度系统"))
    assert await found(client, q="电网") == []  # submitted, not yet on show
    assert (await flow.decide(created["id"], "accepted", force=True)).status_code == 200
    assert await found(client, q="电网调度") == [created["id"]]  # no waiting: indexed in the same write
    page = await client.get(f"/api/v1/catalogue/{created['id']}")
    assert page.json()["views"] == 1
    assert (await client.get(f"/api/v1/catalogue/{created['id']}")).json()["views"] == 2
    await client.post(f"/api/v1/submissions/{created['id']}/withdraw", headers=flow.org("gxu"))
    assert await found(client, q="电网") == []
