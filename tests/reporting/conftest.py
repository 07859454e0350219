"""Helpers of the reporting tests: publish events as producers would, wait until they are applied."""

from collections.abc import Iterable

from shared.app import Runtime
from shared.envelope import Envelope
from shared.idempotency import INBOX
from shared.testing import eventually


async def publish(runtime: Runtime, events: Iterable[Envelope]) -> None:
    for event in events:
        await runtime.broker.publish(event)


def handled(runtime: Runtime) -> float:
    """Deliveries the consumer finished: applied plus acknowledged duplicates."""
    total = 0.0
    for metric in runtime.metrics.registry.collect():
        if metric.name in ("sciweek_events_consumed", "sciweek_events_duplicate"):
            total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


async def settled(runtime: Runtime, distinct: int, deliveries: int) -> None:
    """Wait until `deliveries` were handled and `distinct` events are in the log."""

    async def done() -> bool:
        stored = await runtime.db[INBOX].count_documents({})
        return handled(runtime) >= deliveries and stored == distinct

    await eventually(done, timeout_s=30)
