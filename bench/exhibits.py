"""Exhibits benchmark: catalogue search over 10k exhibits vs a raw indexed find; allocator time for 300/1000.

Run: .venv/bin/python -m bench.exhibits [--exhibits 10000] [--queries 40]
The synthetic vocabulary is small on purpose: most query terms match 5–30 % of the catalogue (worst case).
Needs RabbitMQ at AMQP_URL (a throw-away vhost is created) and the SecantusDB install (./scripts/install).
"""

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.pipeline import pct
from sciweek.embedded import SecantusServer
from services.exhibits.domain.allocation import propose
from services.exhibits.domain.search import query_terms, search_fields
from services.exhibits.main import create_app
from services.exhibits.service import catalogue
from services.exhibits.store import SUBMISSIONS
from shared.auth import mint_token
from shared.settings import Settings
from shared.testing import RabbitVhost, make_settings, running_service
from tests.exhibits.seed import CITIES, accepted_doc, candidates
from tests.exhibits.test_allocation_rules import reference_hall

PLACES = (
    "甘蔗 桑蚕 海洋 北斗 新冠 中药材 电网 茶叶 芒果 铝材 红树林 罗汉果 沙糖桔 百香果 螺蛳粉 六堡茶 八角 肉桂 "
    "油茶 速生桉 珍珠 对虾 牡蛎 锰矿 稀土 碳酸钙 汽车 工程机械 内燃机 轮胎 船舶 港口 高铁 桥梁 隧道 水库"
).split()
QUALITIES = "智能 高精度 新型 便携式 绿色 数字化 无人 快速 低碳 模块化 自主 远程 柔性 轻量化 一体化 多功能".split()
ACTIONS = "检测 监测 定位 养殖 种植 收获 诊断 巡检 储能 导航 溯源 加工 提取 育种 防治 净化 回收 调度 识别 预警".split()
THINGS = "系统 平台 终端 设备 机器人 试剂盒 装置 生产线 传感器 芯片 疫苗 材料".split()
QUERIES = [
    "检测",
    "智能",
    "北斗定位",
    "机器人",
    "甘蔗",
    "六堡茶",
    "储能系统",
    "诊断",
    "罗汉果",
    "溯源平台",
    "疫苗",
    "稀土",
]


def exhibit_doc(i: int, rng: random.Random, accepted_at: datetime) -> dict[str, Any]:
    title = rng.choice(PLACES) + rng.choice(QUALITIES) + rng.choice(ACTIONS) + rng.choice(THINGS)
    summary = "，".join(rng.choice(PLACES) + rng.choice(ACTIONS) + rng.choice(THINGS) for _ in range(3))
    zone = rng.choice([1, 2, 3])
    return {
        "_id": f"x{i:06d}-{uuid.uuid4().hex[:6]}",
        "title": title,
        "summary": summary,
        "highlights": [],
        "zone": zone,
        "industry": "现代农业" if zone == 3 else None,
        "org_id": f"org-{i % 200}",
        "city_code": rng.choice(CITIES),
        "status": "accepted",
        "listed": True,
        "views": 0,
        "media": [],
        "accepted_at": accepted_at - timedelta(seconds=i),
        **search_fields(title, summary, []),
    }


async def timed(n: int, job: Callable[[int], Awaitable[Any]]) -> list[float]:
    out = []
    for i in range(n):
        started = time.perf_counter()
        await job(i)
        out.append(time.perf_counter() - started)
    return out


async def search_figures(settings: Settings, n_exhibits: int, n_queries: int) -> dict[str, list[float]]:
    async with running_service(create_app(settings)) as (rt, client):
        rng = random.Random(7)
        now = datetime.now(UTC)
        docs = [exhibit_doc(i, rng, now) for i in range(n_exhibits)]
        started = time.perf_counter()
        for start in range(0, len(docs), 1000):
            await rt.db[SUBMISSIONS].insert_many(docs[start : start + 1000])
        print(f"seeded {n_exhibits} listed exhibits in {time.perf_counter() - started:.0f} s", flush=True)

        async def raw(i: int) -> None:
            term = query_terms(QUERIES[i % len(QUERIES)])[0]
            await rt.db[SUBMISSIONS].find({"search_terms": term}, limit=20).to_list()

        async def service(i: int) -> None:
            await catalogue.search(rt, QUERIES[i % len(QUERIES)], catalogue.Filters(), None, 20)

        async def http(i: int) -> None:
            response = await client.get("/api/v1/catalogue", params={"q": QUERIES[i % len(QUERIES)]})
            response.raise_for_status()

        await timed(len(QUERIES), service)  # warm up
        figures: dict[str, list[float]] = {"raw": [], "service": [], "http": []}
        for i in range(n_queries):  # interleaved, so drifting load on a shared machine hits all three alike
            for name, job in (("raw", raw), ("service", service), ("http", http)):
                started = time.perf_counter()
                await job(i)
                figures[name].append(time.perf_counter() - started)
        print(f"{3 * n_queries} queries in {sum(sum(v) for v in figures.values()):.1f} s", flush=True)
        filters = catalogue.Filters()
        matches = [len((await catalogue.search(rt, q, filters, None, 100_000))["items"]) for q in QUERIES]
        figures["matches"] = [float(m) for m in matches]
        admin = {"Authorization": f"Bearer {mint_token(settings, role='admin', sub='bench')}"}
        pool = candidates(300)
        await rt.db[SUBMISSIONS].insert_many([accepted_doc(c) for c in pool])
        figures["propose_http"] = await timed(5, lambda i: client.post("/api/v1/allocation/proposals", headers=admin))
    return figures


def allocator_figures(sizes: list[int], runs: int = 5) -> dict[int, float]:
    hall = reference_hall(city_cap=14)
    out = {}
    for n in sizes:
        pool = candidates(n)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            propose(pool, hall)
            times.append(time.perf_counter() - started)
        out[n] = statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exhibits", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    vhost = RabbitVhost(Settings(service="exhibits").amqp_url)
    vhost.create()
    server = SecantusServer(":memory:")
    try:
        uri = server.start()
        settings = make_settings(
            "exhibits", mongodb_url=uri, amqp_url=vhost.url, namespace="benchx", public_rate_limit="1000000/minute"
        )
        figures = asyncio.run(search_figures(settings, args.exhibits, args.queries))
    finally:
        server.stop()
        vhost.delete()
    alloc = allocator_figures([300, 1000])
    raw50, raw99 = pct(figures["raw"], 0.5), pct(figures["raw"], 0.99)
    print(f"\n== catalogue search over {args.exhibits} exhibits, {args.queries} queries of 2–4 characters ==")
    print(f"matches per query                        {', '.join(str(int(m)) for m in figures['matches'])}")
    for name, label in (
        ("raw", "raw indexed find (1 term, 20 docs)"),
        ("service", "search (service call, ranked)"),
        ("http", "GET /catalogue (ASGI, in-process)"),
    ):
        p50, p99 = pct(figures[name], 0.5), pct(figures[name], 0.99)
        ratios = f"p50 {p50 / raw50:4.1f} x, p99 {p99 / raw99:4.1f} x raw"
        print(f"{label:36s} p50 {p50 * 1e3:7.1f} ms  p99 {p99 * 1e3:7.1f} ms  ({ratios})")
    print("\n== allocator (pure, reference grid of 248 booths) ==")
    for n, seconds in alloc.items():
        ratio = seconds / alloc[300]
        print(f"propose {n:5d} submissions                {seconds * 1e3:8.1f} ms  ({ratio:.1f} x the 300 run)")
    http = statistics.median(figures["propose_http"])
    print(f"POST /allocation/proposals, 300 in DB    {http * 1e3:8.1f} ms  ({http / alloc[300]:.1f} x pure 300)")


if __name__ == "__main__":
    main()
