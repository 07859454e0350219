"""`sciweek demo` on the real processes: what it says it did is what the dashboard shows, twice over."""

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser

from sciweek.embedded import Stack, free_port
from shared.auth import mint_token
from shared.settings import REPO_ROOT, SERVICES, Settings
from shared.testing import RabbitVhost
from tests.browser import artifact

FAST = ["--speed", "40000", "--scale", "0.4", "--cities", "3", "--seed", "7", "--jump-hours", "1"]


@pytest.fixture(scope="module")
def stack(vhost: RabbitVhost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system on the reference programme as it is (2020): the rehearsal clock brings the week back."""
    ports = {name: free_port() for name in SERVICES}
    logs = tmp_path_factory.mktemp("demo-logs")
    env = {"SCIWEEK_NAMESPACE": f"demo{uuid.uuid4().hex[:8]}", "SCIWEEK_LOG_LEVEL": "WARNING"}
    running = Stack(vhost.url, ":memory:", ports=ports, extra_env=env, log_dir=logs)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def demo_command(stack: Stack) -> list[str]:
    urls = [f"--url={name}={proc.url}" for name, proc in stack.services.items()]
    return [sys.executable, "-m", "sciweek.cli", "demo", *FAST, *urls]


def printed_totals(output: str) -> dict[str, int]:
    """The demo's own column of its closing table."""
    return {m[1]: int(m[2]) for m in re.finditer(r"(?m)^  (\w+)\s+(\d+)\s+(\d+)", output)}


def dashboard(stack: Stack) -> dict[str, int]:
    token = mint_token(Settings(service="reporting"), role="admin", sub="test-office")
    url = stack.services["reporting"].url + "/api/v1/dashboard"
    data = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    figures = {name: int(value) for name, value in data["totals"].items()}
    for state in ("on_time", "late", "missing"):
        cities = [c for c in data["cities"] if c["city_code"] in ("450100", "450200", "450300")]
        figures[f"summaries_{state}"] = sum(1 for c in cities if c["summary"] == state)
    return figures


async def test_the_demo_plays_the_week_and_the_dashboard_shows_what_it_did(stack: Stack, browser: Browser) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        *demo_command(stack), cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    page = await browser.new_page(viewport={"width": 1280, "height": 1600}, locale="zh-CN")
    token = mint_token(Settings(service="reporting"), role="admin", sub="test-office")
    await page.goto(f"{stack.services['reporting'].url}/dashboard#token={token}")
    await page.wait_for_selector("#rehearsal:not([hidden])", timeout=30_000)  # the 演练 banner
    await page.wait_for_function("Number(document.body.dataset.version || 0) > 20", timeout=30_000)
    await page.screenshot(path=artifact("dashboard-mid-demo.png"), full_page=True)
    banner = await page.text_content("#rehearsal")
    await page.close()
    out, err = await asyncio.wait_for(process.communicate(), 120)
    output = out.decode()
    assert process.returncode == 0, output + err.decode()[-3000:]
    assert "演练" in (banner or "") and "Traceback" not in err.decode()
    said = printed_totals(output)
    assert said["completed"] > 0 and said["bookings"] > 0 and said["visitors"] > 0
    assert {said[f"summaries_{s}"] for s in ("on_time", "late", "missing")} == {1}  # one city each
    shown = dashboard(stack)
    assert {k: shown.get(k, 0) for k in said} == said

    rerun = await asyncio.create_subprocess_exec(
        *demo_command(stack), cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(rerun.communicate(), 120)
    assert rerun.returncode == 0, out.decode() + err.decode()[-3000:]
    assert printed_totals(out.decode()) == said  # nothing doubled
    assert {k: v for k, v in dashboard(stack).items() if k in said} == said
