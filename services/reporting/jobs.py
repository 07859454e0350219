"""Periodic work of every replica (safe concurrently: each announcement is claimed by a conditional update)."""

from services.reporting import summaries, targets
from shared.app import Runtime
from shared.mongo import utcnow

ALERTS_MAX = 100_000


async def check_deadlines_and_pace(rt: Runtime) -> None:
    now = utcnow()
    await summaries.send_reminders(rt, now)
    await targets.announce_behind_pace(rt, now)


async def declare_alert_queue(rt: Runtime) -> None:
    """A durable queue that keeps reporting's alerts for the notifier that will read them.

    Until a notifier subscribes, nothing else is bound to reporting.* and mandatory publishes would
    come back unroutable and be retried forever; this queue holds them (the oldest dropped past ALERTS_MAX).
    """
    await rt.broker.ready.wait()
    assert rt.broker.connection is not None and rt.broker.exchange is not None
    channel = await rt.broker.connection.channel()
    try:
        queue = await channel.declare_queue(
            f"{rt.settings.namespace}.reporting-alerts", durable=True, arguments={"x-max-length": ALERTS_MAX}
        )
        await queue.bind(rt.settings.exchange, routing_key="reporting.#")
    finally:
        await channel.close()
