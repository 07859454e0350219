"""A consumer process that dies by SIGKILL right after committing an event's effect, before acking it.

Run as: python -m tests.shared.crash_consumer '<settings as JSON>'
"""

import asyncio
import os
import signal
import sys
from typing import Any

import aio_pika

from shared.settings import Settings
from tests.shared.bus import VENUE_ROUTES, bus, running_consumer


async def _die(self: Any, multiple: bool = False) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(settings: Settings) -> None:
    aio_pika.IncomingMessage.ack = _die  # type: ignore[method-assign]
    async with bus(settings) as b, running_consumer(b, VENUE_ROUTES):
        print("consuming", flush=True)
        await asyncio.sleep(60)


if __name__ == "__main__":
    asyncio.run(main(Settings.model_validate_json(sys.argv[1])))
