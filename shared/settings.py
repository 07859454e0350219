"""Per-service settings from the environment, validated at start-up."""

import json
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, AwareDatetime, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "sciweek-development-only-secret-never-use-in-production-0123456789abcdef"
DEV_QR_SECRET = "sciweek-development-only-qr-secret-never-in-production-0123456789"
# Secrets anyone can read in this repository (the defaults above, the old compose fallback): production refuses them.
PUBLISHED_SECRETS = frozenset({DEV_JWT_SECRET, DEV_QR_SECRET, "change-me-in-production-please-32bytes"})
SERVICES = ("registration", "exhibits", "volunteers", "reporting")
DEFAULT_PORTS = {"registration": 8001, "exhibits": 8002, "volunteers": 8003, "reporting": 8004}


class Settings(BaseSettings):
    """Everything a service reads from its environment (prefix SCIWEEK_, plus AMQP_URL and MONGODB_URL)."""

    model_config = SettingsConfigDict(env_prefix="SCIWEEK_", extra="ignore", frozen=True)

    service: Literal["registration", "exhibits", "volunteers", "reporting"]
    env: Literal["development", "production"] = "development"  # production refuses the published secrets
    # one broker, or the nodes of a cluster comma-separated (amqp://u:p@rabbit-0:5672/,amqp://u:p@rabbit-1:5672/):
    # every (re)connect tries them in order and stays on the first that answers
    amqp_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/", validation_alias=AliasChoices("AMQP_URL", "SCIWEEK_AMQP_URL")
    )
    # members of each quorum queue when it is declared (x-quorum-initial-group-size): the cluster's size, e.g. 3;
    # unset, the broker's default (every node of the cluster). Queues already declared keep their members.
    quorum_initial_group_size: int | None = Field(None, ge=1, le=9)
    mongodb_url: str = Field(
        "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false&maxIdleTimeMS=60000",
        validation_alias=AliasChoices("MONGODB_URL", "SCIWEEK_MONGODB_URL"),
    )
    mongodb_db: str = ""
    mongodb_timeout_ms: int = Field(10_000, gt=0)
    # write concern of every write and transaction commit: an HTTP 2xx, a consumer's ack and the relay's
    # "sent" mark follow only journaled commits ("majority" journals by default on replica sets)
    mongodb_w: int | Literal["majority"] = "majority"
    mongodb_journal: bool = True
    # every request's database work ends by this deadline (503 + Retry-After past it), so that records held by the
    # open transaction of a killed process (the server keeps it ~60 s) cannot hang a request
    request_deadline_s: float = Field(10.0, gt=0)
    # one transaction anywhere (a consumer's batch, a job's write, one relay round), retries included: the driver
    # would otherwise retry write conflicts for 120 s; within a request the request's deadline, if sooner, wins
    transaction_deadline_s: float = Field(30.0, gt=0)
    namespace: str = Field("sciweek", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    # uvicorn worker processes of `sciweek serve` on one host (each its own event loop, relay lease and jobs; /metrics
    # answers for the worker that takes the scrape): for more, run more replicas
    workers: int = Field(1, ge=1, le=32)
    # pending TCP connections the listening socket queues before the kernel refuses more (uvicorn's backlog; the
    # kernel caps it at net.core.somaxconn)
    backlog: int = Field(4096, gt=0)
    # requests one process works on at once (0: no limit); more wait up to admission_wait_s for a slot, then get 503
    # with Retry-After. Kept well under the MongoDB driver's pool (100) so that no request queues there past its
    # deadline; measured on 2 cores, a booking spike and a sync storm both went faster at 16 than at 64
    max_concurrent_requests: int = Field(16, ge=0)
    admission_wait_s: float = Field(5.0, ge=0)
    # transactions of request handlers one process runs at once (0: no limit); more wait their turn. Measured on the
    # embedded SecantusDB (2 cores), whose transaction registry makes the statements of concurrent transactions wait
    # for each other: with a sync batch at ~6 statements a sync storm applied 1.6x the operations per second at 8
    # as at 1 (16 no better); a booking spike commits in groups and was as fast at 1 and 4. Unmeasured on mongod
    max_concurrent_transactions: int = Field(8, ge=0)
    admission_retry_after_s: int = Field(1, ge=1)
    programme_file: Path = REPO_ROOT / "config" / "programme.toml"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The rehearsal clock (演练): programme time = clock + (wall − clock_anchor) × clock_rate. Unset, the services
    # live at wall time; set (also in production: a province rehearses on its real deployment), every route, job,
    # deadline, pace and booking window lives at programme time and the dashboard shows a 演练 banner.
    clock: AwareDatetime | None = None
    clock_rate: float = Field(1.0, gt=0, le=1_000_000)
    clock_anchor: AwareDatetime | None = None  # the wall instant of `clock`; default the process's start
    # whether an admin may set the rehearsal clock at run time (PUT /api/v1/clock, what `sciweek demo` does):
    # default on in development, off in production (there the clock moves only by configuration)
    clock_control: bool | None = None

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithms: list[Literal["HS256", "HS384", "HS512", "RS256", "ES256"]] = ["HS256"]
    jwt_public_key: str | None = None
    # signs the device credentials a service issues itself (volunteers' enrolments) when tokens are RS256/ES256
    jwt_private_key: SecretStr | None = None
    jwt_issuer: str = "sciweek"
    jwt_audience: str = "sciweek"

    max_body_bytes: int = Field(1_000_000, gt=0)
    max_upload_bytes: int = Field(25_000_000, gt=0)  # multipart uploads; each route bounds its own files
    public_rate_limit: str = "120/minute"
    # Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed; empty: the peer is the client.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []
    # Replaced by trusted_proxies ("true" believed any peer, so every caller chose its own address): set, it
    # stops the service rather than being silently ignored.
    trust_forwarded_for: None = None
    # The public site's address as people reach it (a gateway's origin, with its path prefix if any), e.g.
    # https://kjz.example.cn: share links, Open Graph URLs, booth QR codes and links between the services' pages
    # use it; unset, a page's own request names its origin and links to other services stay relative.
    public_base_url: str | None = Field(None, pattern=r"^https?://[^\s?#]+$")
    publish_timeout_s: float = Field(5.0, gt=0)
    relay_batch: int = Field(200, gt=0)
    relay_poll_s: float = Field(0.5, gt=0)
    relay_lease_s: float = Field(10.0, gt=0)
    prefetch: int = Field(64, gt=0)
    consume_batch: int = Field(50, gt=0)
    max_retries: int = Field(3, ge=0)
    retry_delay_ms: int = Field(5000, gt=0)
    delivery_limit: int = Field(10, gt=0)
    shutdown_grace_s: float = Field(10.0, ge=0)

    # --- registration (SCIWEEK_…) ---
    registration_qr_secret: SecretStr = Field(SecretStr(DEV_QR_SECRET), min_length=32)  # signs the QR tickets
    registration_offer_ttl_s: float = Field(1800.0, gt=0)  # how long a waiting-list offer holds its seats
    registration_offer_sweep_s: float = Field(5.0, gt=0)  # how often expired offers are passed on
    registration_bookings_per_phone_day: int = Field(3, ge=1)  # live bookings one phone may hold per day
    registration_listing_cache_s: float = Field(1.0, ge=0)  # public listing answers are reused this long
    registration_hold_timeout_s: float = Field(300.0, gt=0)  # seats held longer by an uncommitted booking go back

    # --- exhibits (SCIWEEK_…) ---
    exhibits_booths_file: Path = REPO_ROOT / "config" / "booths.toml"
    exhibits_criteria: dict[str, float] = {"advancement": 0.35, "show_value": 0.25, "physical": 0.2, "relevance": 0.2}
    exhibits_aggregate: Literal["mean", "median"] = "mean"
    exhibits_city_cap: int = Field(14, ge=1)  # most booths one city's exhibits may take in a release
    # After the week: the catalogue is read-only (every write answers 409 catalogue_archived), the pages stay.
    exhibits_archive: bool = False
    exhibits_media_max_bytes: int = Field(20_000_000, gt=0)  # under max_upload_bytes

    # --- volunteers (SCIWEEK_…) ---
    volunteers_geofence_m: float = Field(3000.0, gt=0)  # check-ins further than this from the village are flagged
    volunteers_max_gps_accuracy_m: float = Field(500.0, gt=0)  # a worse reported accuracy is flagged
    volunteers_late_sync_hours: float = Field(48.0, gt=0)  # an operation synced this long after it happened is flagged
    volunteers_sync_cursor_max_age_days: float = Field(30.0, gt=0)  # older change cursors get 410 (full resync)
    volunteers_sync_max_operations: int = Field(200, gt=0)
    volunteers_visit_photos_max: int = Field(10, ge=0)
    volunteers_visit_photo_max_bytes: int = Field(5_000_000, gt=0)  # under max_upload_bytes
    volunteers_missed_check_s: float = Field(900.0, ge=0)  # how often overdue visits are marked missed; 0 disables it
    volunteers_missed_grace_days: int = Field(2, ge=0)
    volunteers_enrolment_days: float = Field(60.0, gt=0)  # how long a phone's enrolment credential lasts
    volunteers_enrolment_cache_s: float = Field(5.0, ge=0)  # a revocation reaches other replicas within this
    # the field app's address printed in enrolment QR codes; empty: this service's own /app/ as the request saw it
    volunteers_app_url: str = Field("", pattern=r"^(https?://\S+/)?$")

    # --- reporting (SCIWEEK_…) ---
    reporting_public_headline: bool = True  # headline numbers without a token (rate limited)
    reporting_job_interval_s: float = Field(60.0, gt=0)  # pace checks and deadline reminders
    reporting_stream_poll_s: float = Field(1.0, gt=0)  # how often the live dashboard stream looks for news
    reporting_metrics_refresh_s: float = Field(5.0, gt=0)  # business figures served at /metrics are this fresh
    # a TrueType/OpenType CJK font embedded in the PDF exports (default: the first of Debian's WenQuanYi / Noto CJK
    # found, else the viewer's STSong-Light); `sciweek up` refuses a path that does not exist
    reporting_pdf_font: Path | None = None
    # the Chromium that browser tests and screenshots drive (`sciweek up` checks it when set)
    chromium: Path | None = None
    reporting_picture_max_bytes: int = Field(5_000_000, gt=0)  # under max_upload_bytes
    # reminders and behind-pace notices are e-mailed through this server (smtp://host:port); unset: feed only
    reporting_notify_smtp: str | None = Field(None, pattern=r"^smtp://[^:/]+(:\d+)?/?$")
    reporting_notify_from: str = "sciweek@localhost"
    # who receives a notice, by audience: {"city:450100": ["nn@example.cn"], "unit:gxu": [...], "province": [...]}
    reporting_notify_recipients: dict[str, list[str]] = {}
    reporting_notify_interval_s: float = Field(5.0, gt=0)  # how often pending notices are sent

    @field_validator("amqp_url")
    @classmethod
    def _amqp_scheme(cls, v: str) -> str:
        urls = [u.strip() for u in v.split(",")]
        if not all(u.startswith(("amqp://", "amqps://")) for u in urls):
            raise ValueError("AMQP_URL must start with amqp:// or amqps:// (a cluster: URLs separated by commas)")
        return ",".join(urls)

    @field_validator("public_rate_limit")
    @classmethod
    def _rate_limit(cls, v: str) -> str:
        from limits import parse

        parse(v)  # raises ValueError on e.g. "lots per hour"
        return v

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, v: object) -> object:
        if isinstance(v, str):  # from the environment: "10.0.0.0/8, 127.0.0.1" or a JSON list
            v = json.loads(v) if v.strip().startswith("[") else [p for p in v.split(",") if p.strip()]
        if not isinstance(v, list | tuple):
            return v
        # parsed here so a bad entry is reported as itself, not as a failed IPv4-or-IPv6 union
        return [p if isinstance(p, IPv4Network | IPv6Network) else ip_network(str(p).strip()) for p in v]

    @field_validator("trust_forwarded_for", mode="before")
    @classmethod
    def _removed(cls, v: object) -> None:
        if v is None:
            return None
        raise ValueError("removed: list the proxies you trust in SCIWEEK_TRUSTED_PROXIES instead")

    @field_validator("mongodb_url")
    @classmethod
    def _mongodb_scheme(cls, v: str) -> str:
        if not v.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("MONGODB_URL must start with mongodb:// or mongodb+srv://")
        return v

    @model_validator(mode="after")
    def _defaults_and_keys(self) -> "Settings":
        if not self.mongodb_db:
            object.__setattr__(self, "mongodb_db", f"sciweek_{self.service}")
        if not self.port:
            object.__setattr__(self, "port", DEFAULT_PORTS[self.service])
        if self.clock_control is None:
            object.__setattr__(self, "clock_control", self.env == "development")
        uses_rsa = any(a.startswith(("RS", "ES")) for a in self.jwt_algorithms)
        if uses_rsa and not self.jwt_public_key:
            raise ValueError("SCIWEEK_JWT_PUBLIC_KEY is required for RS256/ES256")
        if uses_rsa and not all(a.startswith(("RS", "ES")) for a in self.jwt_algorithms):
            # one key verifies every allowed algorithm: HMAC next to a public key invites algorithm confusion
            raise ValueError("SCIWEEK_JWT_ALGORITHMS must not mix HS* with RS256/ES256")
        if self.jwt_private_key is not None and not uses_rsa:
            raise ValueError("SCIWEEK_JWT_PRIVATE_KEY is for RS256/ES256 (HMAC tokens are signed with the secret)")
        if not uses_rsa and len(self.jwt_secret.get_secret_value().encode()) < 32:
            raise ValueError("SCIWEEK_JWT_SECRET must be at least 32 bytes for HMAC signing")
        if not self.programme_file.is_file():
            raise ValueError(f"SCIWEEK_PROGRAMME_FILE not found: {self.programme_file}")
        if self.env == "production":
            self._refuse_published_secrets(uses_rsa)
        return self

    def _refuse_published_secrets(self, uses_rsa: bool) -> None:
        published = []
        if not uses_rsa and self.jwt_secret.get_secret_value() in PUBLISHED_SECRETS:
            published.append("SCIWEEK_JWT_SECRET")  # anyone could sign tokens for any role
        if self.service == "registration" and self.registration_qr_secret.get_secret_value() in PUBLISHED_SECRETS:
            published.append("SCIWEEK_REGISTRATION_QR_SECRET")  # anyone could print valid tickets
        if published:
            raise ValueError(
                f"{', '.join(published)}: 生产环境（SCIWEEK_ENV=production）不能使用公开的开发密钥，请设置随机密钥 "
                "/ a published development secret is refused in production: set a random secret of 32+ bytes"
            )

    @property
    def amqp_urls(self) -> list[str]:
        """The broker nodes of AMQP_URL, in the order a (re)connect tries them."""
        return self.amqp_url.split(",")

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def queue(self) -> str:
        return f"{self.namespace}.{self.service}"

    @property
    def source(self) -> str:
        return f"sciweek/{self.service}"


def describe_error(exc: Exception) -> str:
    """A one-line-per-field explanation of a settings ValidationError, for start-up messages."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    lines = ["配置无效 / invalid settings:"]
    for e in errors():
        field = ".".join(str(p) for p in e.get("loc", ()))
        if not field:  # a check across fields: its message names the variables, and its input holds the secrets
            lines.append(f"  {str(e.get('msg')).removeprefix('Value error, ')}")
            continue
        shown = "" if "secret" in field else f" (got {e.get('input')!r})"
        lines.append(f"  SCIWEEK_{field.upper()}: {e.get('msg')}{shown}")
    return "\n".join(lines)
