"""Apps in a real headless Chromium (Playwright driving the system's /usr/bin/chromium).

`served(app)` puts an in-process service behind a real port (a browser needs one); the `browser` and `phone`
fixtures (tests/conftest.py) give a shared browser and a phone-sized page; `artifact(name)` is where a test
keeps a screenshot for review (.artifacts/ of the checkout, or SCIWEEK_TEST_ARTIFACTS).
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from sciweek.embedded import free_port
from shared.app import Runtime
from shared.settings import REPO_ROOT
from shared.testing import eventually

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ARTIFACTS = Path(os.environ.get("SCIWEEK_TEST_ARTIFACTS", REPO_ROOT / ".artifacts"))


def artifact(name: str) -> Path:
    """Where to keep `name` (a screenshot) for review after the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[tuple[Runtime, str]]:
    """`app` behind a real HTTP port, in this event loop: its runtime and its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:

        async def listening() -> bool:  # uvicorn exposes no event for this
            return bool(server.started)

        await eventually(listening)
        runtime: Runtime = app.state.runtime
        await asyncio.wait_for(runtime.started.wait(), 30)
        yield runtime, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
