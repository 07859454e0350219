"""Prometheus metrics every service exposes, in a registry of its own per app."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The technical metrics of one service process."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "sciweek_http_requests_total",
            "HTTP requests by route template",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "sciweek_http_request_seconds",
            "HTTP request duration by route template",
            ["method", "route"],
            registry=r,
        )
        self.published = Counter("sciweek_events_published_total", "Events published (confirmed)", ["type"], registry=r)
        self.publish_failures = Counter(
            "sciweek_events_publish_failures_total", "Publish attempts that failed", ["type"], registry=r
        )
        self.consumed = Counter(
            "sciweek_events_consumed_total", "Events applied by this consumer", ["type"], registry=r
        )
        self.duplicates = Counter(
            "sciweek_events_duplicate_total", "Redelivered events acked without effect", ["type"], registry=r
        )
        self.retried = Counter(
            "sciweek_events_retried_total", "Events sent to the delayed retry queue", ["type"], registry=r
        )
        self.dead_lettered = Counter(
            "sciweek_events_dead_lettered_total", "Events sent to the dead-letter queue", ["type", "reason"], registry=r
        )
        self.outbox_pending = Gauge("sciweek_outbox_pending", "Outbox entries not yet published", registry=r)
        self.outbox_oldest_age = Gauge(
            "sciweek_outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox entry", registry=r
        )
        self.dependency_up = Gauge(
            "sciweek_dependency_up",
            "Whether MongoDB, RabbitMQ and the service's consumer answered at the last readiness probe or scrape",
            ["dependency"],
            registry=r,
        )
        self.info = Gauge("sciweek_service_info", "Service identity", ["service"], registry=r)
        self.info.labels(service=service).set(1)
