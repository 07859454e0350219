"""Prometheus metrics of the business (per city), next to the technical ones, from a snapshot of the counters."""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.reporting import store
from services.reporting.domain.projection import PROVINCE, city_scope
from services.reporting.service import targets
from shared.unit_of_work import UnitOfWork

EXPORTED = (
    "planned",
    "completed",
    "households_reached",
    "trainees",
    "books",
    "venues_approved",
    "bookings",
    "visitors",
    "activities_held",
    "exhibits_submitted",
    "exhibits_accepted",
    "exhibits_placed",
)


class BusinessMetrics(Collector):
    """Serves the last snapshot at scrape time (a scrape never touches the database)."""

    def __init__(self) -> None:
        self.by_city: dict[str, dict[str, int]] = {}
        self.targets: list[tuple[str, float, bool]] = []
        self._registries: set[int] = set()

    def attach(self, registry: CollectorRegistry) -> None:
        if id(registry) not in self._registries:
            registry.register(self)
            self._registries.add(id(registry))

    async def refresh(self, uow: UnitOfWork) -> None:
        self.attach(uow.metrics.registry)
        codes = [c.code for c in uow.programme.cities]
        rows = await store.counters(uow.db, [PROVINCE, *(city_scope(c) for c in codes)])
        self.by_city = {code: rows[city_scope(code)] for code in codes} | {"all": rows[PROVINCE]}
        progress = await targets.progress_of(uow, await targets.all_targets(uow), uow.clock.now())
        self.targets = [(p["id"], p["ratio"], p["behind"]) for p in progress]

    def collect(self) -> Iterator[Metric]:
        business = GaugeMetricFamily(
            "sciweek_business", "Programme figures from the reporting projections", labels=["metric", "city"]
        )
        for city, metrics in self.by_city.items():
            for name in EXPORTED:
                business.add_metric([name, city], metrics.get(name, 0))
        ratio = GaugeMetricFamily("sciweek_target_ratio", "Done / target value", labels=["target"])
        behind = GaugeMetricFamily("sciweek_target_behind", "1 if the target is behind its pace", labels=["target"])
        for target_id, value, late in self.targets:
            ratio.add_metric([target_id], value)
            behind.add_metric([target_id], float(late))
        yield from (business, ratio, behind)
