"""`sciweek demo`: load a realistic programme into the running system and play its week on a rehearsal clock.

Everything goes through the services' public HTTP API, with tokens minted from the configured JWT secret
(an admin tool run beside the stack, like `sciweek token`). Every id and Idempotency-Key is derived from the
seed, so a second run replays the first run's answers and doubles nothing.
"""

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.auth import Role, mint_token
from shared.programme import City, Programme
from shared.settings import Settings

# Approximate centres of the reference programme's cities; another programme's cities get a default.
CENTRES = {
    "450100": (22.82, 108.37),
    "450200": (24.33, 109.41),
    "450300": (25.27, 110.29),
    "450400": (23.48, 111.28),
    "450500": (21.48, 109.12),
    "450600": (21.69, 108.35),
    "450700": (21.98, 108.65),
    "450800": (23.11, 109.60),
    "450900": (22.65, 110.18),
    "451000": (23.90, 106.62),
    "451100": (24.40, 111.57),
    "451200": (24.69, 108.09),
    "451300": (23.75, 109.22),
    "451400": (22.40, 107.36),
}
FAMILY = "黄李韦覃陆莫梁蒙罗杨"
GIVEN = ["志强", "秀英", "建华", "海燕", "国平", "丽娟", "文斌", "春梅", "永明", "桂兰"]
VILLAGES = ["那坡", "平安", "坡月", "弄立", "六合", "板烈", "新村", "大塘", "古朗", "龙腾"]
NEEDS = ["种植", "养殖", "电商", "农机", "病虫害"]
BOOKS = ["《柑橘栽培技术》", "《生猪健康养殖》", "《农村电商入门》"]
INDUSTRIES = ["电子信息", "先进装备制造", "生物医药", "新材料", "现代农业"]
# the stored counters the demo's totals are checked against (reporting's dashboard, province-wide)
CHECKED = (
    "completed",
    "households_reached",
    "consultations",
    "trainees",
    "books",
    "visits_declined",
    "visits_missed",
    "flags_geofence",
    "flags_late_sync",
    "venues_registered",
    "venues_approved",
    "opendays",
    "bookings",
    "visitors",
    "activities_scheduled",
    "activities_held",
    "exhibits_submitted",
    "exhibits_accepted",
)
SUMMARY_STATES = ("on_time", "late", "missing")


class DemoError(Exception):
    """The demo cannot go on: one line that says why."""


@dataclass(order=True)
class Action:
    at: datetime
    seq: int
    label: str = field(compare=False)
    run: Callable[[], None] = field(compare=False)


class Api:
    """The four services' HTTP APIs, with tokens for any role and retries on 429/503 (Retry-After)."""

    def __init__(self, urls: Mapping[str, str], settings: Settings, timeout_s: float = 30) -> None:
        self.urls = dict(urls)
        self.settings = settings
        self.http = httpx.Client(timeout=timeout_s)
        self.tokens: dict[tuple[Any, ...], str] = {}

    def auth(self, role: Role, sub: str, **claims: Any) -> dict[str, str]:
        key = (role, sub, *sorted(claims.items()))
        if key not in self.tokens:
            self.tokens[key] = mint_token(self.settings, role=role, sub=sub, ttl=timedelta(hours=12), **claims)
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def call(self, service: str, method: str, path: str, **options: Any) -> httpx.Response:
        for _ in range(30):
            reply = self.http.request(method, self.urls[service] + path, **options)
            if reply.status_code not in (429, 503):
                return reply
            time.sleep(min(float(reply.headers.get("Retry-After", "1")), 5))
        return reply

    def ok(self, service: str, method: str, path: str, accept: tuple[int, ...] = (), **options: Any) -> Any:
        reply = self.call(service, method, path, **options)
        if reply.status_code >= 300 and reply.status_code not in accept:
            raise DemoError(f"{method} {service}{path}: {reply.status_code} {reply.text[:300]}")
        return reply.json() if reply.content and reply.headers.get("content-type", "").endswith("json") else None


@dataclass
class Plan:
    """What the demo will do, in programme time, and what it did."""

    programme: Programme
    seed: int
    actions: list[Action] = field(default_factory=list)
    done: Counter[str] = field(default_factory=Counter)
    summaries: dict[str, str] = field(default_factory=dict)  # city code -> on_time | late | missing

    def at(self, when: datetime, label: str, run: Callable[[], None]) -> None:
        self.actions.append(Action(when, len(self.actions), label, run))

    def key(self, *parts: object) -> str:
        """A deterministic Idempotency-Key / client id for this seed."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sciweek-demo/{self.seed}/" + "/".join(map(str, parts))))

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(self.programme.timezone))

    @property
    def days(self) -> list[date]:
        p = self.programme
        return [p.start + timedelta(days=i) for i in range((p.end - p.start).days + 1)]


def centre(city: City, rng: random.Random, spread: float = 0.15) -> tuple[float, float]:
    lat, lon = CENTRES.get(city.code, (23.0, 109.0))
    return round(lat + rng.uniform(-spread, spread), 5), round(lon + rng.uniform(-spread, spread), 5)


def name(rng: random.Random) -> str:
    return rng.choice(FAMILY) + rng.choice(GIVEN)


def count(base: float, scale: float) -> int:
    return max(1, round(base * scale))


def plan_visits(plan: Plan, api: Api, city: City, rng: random.Random, scale: float) -> None:
    """Commissioners, villages, households and visits; phones that sync on time, late, far away, or never."""
    code, days, setup = city.code, plan.days, plan.local(plan.programme.start - timedelta(days=3), 9)
    coordinator = api.auth("city", f"demo-coordinator-{code}", city=code)
    people = [f"demo-{code}-c{i}" for i in range(count(3, scale))]
    villages = {f"demo-{code}-v{j}": centre(city, rng) for j in range(count(4, scale))}

    def reference() -> None:
        rng = random.Random(f"{plan.seed}/{code}")  # its own: what runs earlier in a rerun may differ
        for i, cid in enumerate(people):
            body: dict[str, Any] = {
                "id": cid,
                "name": name(rng),
                "phone": f"139{int(code) % 10000:04d}{i:04d}",
                "city_code": code,
            }
            body |= {"available_dates": [d.isoformat() for d in days], "max_visits_per_day": 2}
            api.ok("volunteers", "PUT", f"/api/v1/commissioners/{cid}", json=body, headers=coordinator)
        for j, (vcode, (lat, lon)) in enumerate(villages.items()):
            village: dict[str, Any] = {"code": vcode, "name": VILLAGES[j % len(VILLAGES)] + "村", "city_code": code}
            village |= {"lat": lat, "lon": lon, "needs": rng.sample(NEEDS, 2)}
            api.ok("volunteers", "PUT", f"/api/v1/villages/{vcode}", json=village, headers=coordinator)
            for k in range(3):
                household = {"id": f"{vcode}-h{k}", "village_code": vcode, "head_name": name(rng)}
                api.ok("volunteers", "PUT", f"/api/v1/households/{vcode}-h{k}", json=household, headers=coordinator)
        plan.done["commissioners"] += len(people)
        plan.done["villages"] += len(villages)

    plan.at(setup, f"{city.name} 特派员与村户", reference)
    admin = api.auth("admin", "demo-office")
    quota = city.visit_quota
    plan.at(
        setup,
        f"{city.name} 任务数",
        lambda: api.ok("volunteers", "PUT", f"/api/v1/quotas/{code}", json={"quota": quota}, headers=admin),
    )
    for k in range(count(7, scale)):
        visit_day = days[k % len(days)]
        person = people[k % len(people)]
        vcode = list(villages)[k % len(villages)]
        fate = rng.choices(["online", "offline", "far", "declined", "missed"], [62, 12, 10, 8, 8])[0]
        plan_visit(plan, api, city, (k, visit_day, person, vcode, villages[vcode], fate), rng)


def plan_visit(plan: Plan, api: Api, city: City, what: tuple[Any, ...], rng: random.Random) -> None:
    k, day, person, vcode, (lat, lon), fate = what
    code = city.code
    coordinator = api.auth("city", f"demo-coordinator-{code}", city=code)
    phone = api.auth("volunteer", person)
    households = [f"{vcode}-h{i}" for i in range(3)]
    visit: dict[str, str] = {}
    body = {"commissioner_id": person, "city_code": code, "village_code": vcode, "visit_date": day.isoformat()}
    body |= {"household_ids": households, "planned_activities": ["现场咨询", "技术培训", "赠送图书"]}

    def assign() -> None:
        headers = {**coordinator, "Idempotency-Key": plan.key("assign", code, k)}
        visit["id"] = api.ok("volunteers", "POST", "/api/v1/assignments", json=body, headers=headers)["id"]

    plan.at(plan.local(day - timedelta(days=2), 10, k % 50), f"{city.name} 派单", assign)
    reached = households[: rng.randint(1, 3)]
    report = {"households_reached": reached, "consultations": rng.randint(2, 12), "people_trained": rng.randint(5, 40)}
    report |= {"books": [{"title": rng.choice(BOOKS), "count": rng.randint(5, 30)}], "notes": "现场指导，农户反映良好"}
    far = fate == "far"
    where = {"lat": lat + (0.2 if far else 0.001), "lon": lon, "accuracy_m": 15}
    ops = [
        ("accept", plan.local(day, 8, rng.randint(0, 50)), {}),
        ("check_in", plan.local(day, 10, rng.randint(0, 50)), where),
        ("report", plan.local(day, 15, rng.randint(0, 50)), report),
    ]
    if fate == "declined":
        ops = [("decline", plan.local(day - timedelta(days=1), 19, k % 50), {"reason": "当天另有防汛任务"})]
    elif fate == "missed":
        ops = ops[:1]

    def operation(op: str, device_time: datetime, payload: dict[str, Any]) -> dict[str, Any]:
        op_id = plan.key("op", code, k, op)
        return {"op_id": op_id, "type": op, "assignment_id": visit["id"], "device_time": device_time.isoformat()}

    def sync(batch: list[tuple[str, datetime, dict[str, Any]]]) -> Callable[[], None]:
        def send() -> None:
            operations = [operation(*op) | {"payload": op[2]} for op in batch]
            results = api.ok("volunteers", "POST", "/api/v1/sync", json={"operations": operations}, headers=phone)
            bad = [r for r in results["results"] if r["status"] not in ("applied", "unchanged")]
            if bad:
                raise DemoError(f"sync {visit['id']}: {bad}")
            count_visit(plan, fate, batch, report)

        return send

    if fate == "offline":  # no signal in the village: the phone syncs everything two days later
        plan.at(plan.local(day + timedelta(days=2), 21, k % 50), f"{city.name} 离线手机同步", sync(ops))
    else:
        for op in ops:
            plan.at(op[1], f"{city.name} 手机：{op[0]}", sync([op]))


def count_visit(
    plan: Plan, fate: str, batch: list[tuple[str, datetime, dict[str, Any]]], report: dict[str, Any]
) -> None:
    kinds = {op[0] for op in batch}
    if "report" in kinds:
        plan.done["completed"] += 1
        plan.done["households_reached"] += len(report["households_reached"])
        plan.done["consultations"] += report["consultations"]
        plan.done["trainees"] += report["people_trained"]
        plan.done["books"] += sum(b["count"] for b in report["books"])
        plan.done["flags_geofence"] += int(fate == "far")
        plan.done["flags_late_sync"] += int(fate == "offline")
    if "decline" in kinds:
        plan.done["visits_declined"] += 1
    if fate == "missed":
        plan.done["visits_missed"] += 1


def plan_open_days(plan: Plan, api: Api, city: City, rng: random.Random, scale: float) -> None:
    """Venues registered and approved, open days published, the public booking, scans at the door."""
    code = city.code
    setup = plan.local(plan.programme.start - timedelta(days=3), 10)
    coordinator = api.auth("city", f"demo-coordinator-{code}", city=code)
    for v in range(count(1.5, scale)):
        operator_sub = f"demo-operator-{code}-{v}"
        operator = api.auth("venue", operator_sub)
        day = plan.days[(v * 3 + int(code[2:4])) % len(plan.days)]
        venue: dict[str, Any] = {}
        policy = "half_price" if v % 2 else "free"
        lat, lon = centre(city, rng, 0.05)
        fields: dict[str, Any] = {
            "name": f"{city.name}{['市科技馆', '农业科学研究所', '高新区企业展厅'][v % 3]}",
            "city_code": code,
        }
        fields |= {
            "org_type": ["science_museum", "research_institute", "high_tech_enterprise"][v % 3],
            "location": {"lat": lat, "lng": lon},
        }
        openday: dict[str, Any] = {"id": plan.key("openday", code, v), "date": day.isoformat(), "price_policy": policy}
        openday |= {"normal_price": 30.0} if policy == "half_price" else {}
        openday |= {"booking_opens_at": setup.isoformat(), "max_group_size": 4}
        openday |= {
            "sessions": [
                {"start": "09:00", "end": "11:30", "capacity": 30},
                {"start": "14:30", "end": "17:00", "capacity": 30},
            ]
        }

        def open_venue(
            fields: dict[str, Any] = fields,
            openday: dict[str, Any] = openday,
            operator: Any = operator,
            venue: dict[str, Any] = venue,
            v: int = v,
        ) -> None:
            made = api.ok(
                "registration",
                "POST",
                "/api/v1/venues",
                json=fields,
                headers={**operator, "Idempotency-Key": plan.key("venue", code, v)},
            )
            venue["id"] = made["id"]
            api.ok(
                "registration",
                "POST",
                f"/api/v1/venues/{made['id']}/approve",
                headers={**coordinator, "Idempotency-Key": plan.key("approve", code, v)},
                accept=(409,),  # a rerun: already approved
            )
            created = api.ok(
                "registration", "POST", f"/api/v1/venues/{made['id']}/opendays", json=openday, headers=operator
            )
            published = api.ok("registration", "POST", f"/api/v1/opendays/{created['id']}/publish", headers=operator)
            venue["sessions"] = [s["session_id"] for s in published["sessions"]]
            venue["starts"] = [datetime.fromisoformat(s["starts_at"]) for s in published["sessions"]]
            plan.done["venues_registered"] += 1
            plan.done["venues_approved"] += 1
            plan.done["opendays"] += 1

        plan.at(setup + timedelta(minutes=v), f"{city.name} 场馆登记与开放日", open_venue)
        for b in range(count(4, scale) * 2):
            plan_booking(plan, api, city, (v, b, day, venue, operator), rng)


def plan_booking(plan: Plan, api: Api, city: City, what: tuple[Any, ...], rng: random.Random) -> None:
    v, b, day, venue, operator = what
    code = city.code
    party = rng.randint(1, 4)
    shows_up = rng.random() < 0.8
    booking: dict[str, Any] = {}

    who = name(rng)

    def book() -> None:
        session = venue["sessions"][b % 2]
        phone = f"13{int(code) % 1000:03d}{v:01d}{b:05d}"[:11]
        body = {"session_id": session, "name": who, "phone": phone, "party_size": party}
        headers = {"Idempotency-Key": plan.key("booking", code, v, b)}
        booking.update(api.ok("registration", "POST", "/api/v1/public/bookings", json=body, headers=headers))
        if booking["status"] == "confirmed":
            plan.done["bookings"] += 1

    def scan() -> None:
        if booking.get("status") != "confirmed":
            return
        body = {"token": booking["ticket"], "scan_id": plan.key("scan", code, v, b)}
        api.ok("registration", "POST", f"/api/v1/venues/{venue['id']}/checkins", json=body, headers=operator)
        plan.done["visitors"] += party

    plan.at(plan.local(day - timedelta(days=1), 19, b % 60), f"{city.name} 公众预约", book)
    if shows_up:
        plan.at(plan.local(day, 9 if b % 2 == 0 else 14, 10 + b % 40), f"{city.name} 入场扫码", scan)


def plan_activities(plan: Plan, api: Api, city: City, rng: random.Random) -> None:
    """Two policy lectures and one grass-roots event per city: scheduled before the week, held on their day."""
    code = city.code
    coordinator = api.auth("city", f"demo-coordinator-{code}", city=code)
    kinds = [("policy_lecture", "创新政策宣讲会"), ("policy_lecture", "科技惠企政策解读"), ("grassroots", "科技进社区")]
    for a, (kind, title) in enumerate(kinds):
        day = plan.days[(a * 2 + int(code[2:4])) % len(plan.days)]
        body: dict[str, Any] = {
            "city_code": code,
            "activity_type": kind,
            "title": f"{city.name}{title}",
            "date": day.isoformat(),
        }
        body |= {"place": f"{city.name}市科技局", "expected_participants": 120}
        held = rng.random() < 0.9
        participants = rng.randint(60, 200)
        activity: dict[str, str] = {}

        def schedule(body: dict[str, Any] = body, activity: dict[str, str] = activity, a: int = a) -> None:
            headers = {**coordinator, "Idempotency-Key": plan.key("activity", code, a)}
            activity["id"] = api.ok("registration", "POST", "/api/v1/activities", json=body, headers=headers)["id"]
            plan.done["activities_scheduled"] += 1

        def outcome(activity: dict[str, str] = activity, participants: int = participants) -> None:
            path = f"/api/v1/activities/{activity['id']}"
            if api.ok("registration", "GET", path, headers=coordinator)["status"] == "scheduled":
                body = {"status": "held", "participants": participants}
                api.ok("registration", "POST", path + "/outcome", json=body, headers={**coordinator, "If-Match": "*"})
            plan.done["activities_held"] += 1

        plan.at(plan.local(plan.programme.start - timedelta(days=3), 11, a), f"{city.name} 登记主题活动", schedule)
        if held:
            plan.at(plan.local(day, 20, a), f"{city.name} 活动已举办", outcome)


def plan_exhibits(plan: Plan, api: Api, cities: list[City], rng: random.Random, scale: float) -> None:
    """Submissions from every city, reviews per zone, the office's decisions and the booth allocation."""
    zones = [z.id for z in plan.programme.exhibition.zones]
    admin = api.auth("admin", "demo-office")
    submitted: list[tuple[str, int]] = []
    when = plan.local(plan.programme.start - timedelta(days=5), 9)
    for city in cities:
        exhibitor = api.auth("exhibitor", f"demo-exhibitor-{city.code}", org=f"demo-{city.code}")
        for e in range(count(2, scale)):
            zone = zones[(e + int(city.code[2:4])) % len(zones)]
            body = {
                "title": f"{city.name}{['智慧农业监测系统', '新冠快速检测试剂', '北斗农机导航'][e % 3]}",
                "zone": zone,
            }
            body |= {"summary": "面向基层的科技成果展示", "city_code": city.code, "submit": True}
            body |= {"physical_object": {"footprint_m2": rng.choice([9.0, 18.0])}}
            if zone == 3:
                body["industry"] = rng.choice(INDUSTRIES)

            def submit(
                body: dict[str, Any] = body, exhibitor: Any = exhibitor, e: int = e, code: str = city.code
            ) -> None:
                headers = {**exhibitor, "Idempotency-Key": plan.key("exhibit", code, e)}
                made = api.ok("exhibits", "POST", "/api/v1/submissions", json=body, headers=headers)
                submitted.append((made["id"], body["zone"]))
                plan.done["exhibits_submitted"] += 1

            plan.at(when + timedelta(minutes=len(plan.actions) % 50), f"{city.name} 展项申报", submit)

    def review_and_decide() -> None:
        for zone in zones:
            api.ok("exhibits", "PUT", f"/api/v1/reviewers/demo-reviewer-{zone}", json={"zones": [zone]}, headers=admin)
        decisions = []
        for exhibit_id, zone in submitted:
            reviewer = api.auth("reviewer", f"demo-reviewer-{zone}")
            scoring = random.Random(f"{plan.seed}/{exhibit_id}")
            scores = {c: scoring.randint(2, 5) for c in api.settings.exhibits_criteria}
            review = {"scores": scores, "comment": "同意"}
            path = f"/api/v1/submissions/{exhibit_id}"
            api.ok("exhibits", "POST", path + "/reviews", json=review, headers=reviewer, accept=(409,))  # closed: rerun
            decisions.append({"id": exhibit_id, "decision": "accepted" if sum(scores.values()) >= 12 else "rejected"})
        if decisions:  # a rerun's decisions are refused one by one (already decided): the first ones stand
            api.ok("exhibits", "POST", "/api/v1/decisions", json={"items": decisions}, headers=admin)
        for exhibit_id, _ in submitted:
            status = api.ok("exhibits", "GET", f"/api/v1/submissions/{exhibit_id}", headers=admin)["status"]
            plan.done["exhibits_accepted"] += status in ("accepted", "confirmed")
        if api.call("exhibits", "GET", "/api/v1/allocation/releases/latest", headers=admin).status_code == 404:
            working = api.call("exhibits", "POST", "/api/v1/allocation/proposals", headers=admin)
            api.ok(
                "exhibits",
                "POST",
                "/api/v1/allocation/releases",
                json={"changelog": "首次发布"},
                headers={**admin, "If-Match": working.headers.get("ETag", "*")},
            )

    plan.at(when + timedelta(days=1), "评审、决定与展位分配", review_and_decide)


def plan_summaries(plan: Plan, api: Api, cities: list[City]) -> datetime:
    """Cities' summaries: some on time, some late, some never; returns the instant the play ends."""
    due = plan.programme.deadlines.city_summary
    for i, city in enumerate(cities):
        fate = SUMMARY_STATES[i % 3]
        plan.summaries[city.code] = fate
        if fate == "missing":
            continue
        author = api.auth("city", f"demo-coordinator-{city.code}", city=city.code)
        day = due - timedelta(days=3) if fate == "on_time" else due + timedelta(days=1)
        text = f"{city.name}市科技活动周工作总结：组织科技特派员进村入户，开放科研场馆，举办政策宣讲。"

        def submit(author: Any = author, code: str = city.code, text: str = text) -> None:
            api.ok(
                "reporting",
                "PUT",
                f"/api/v1/summaries/{code}",
                json={"narrative": text},
                headers={**author, "If-Match": "*"},
                accept=(409, 423),
            )
            api.ok(
                "reporting",
                "POST",
                f"/api/v1/summaries/{code}/submit",
                headers={**author, "Idempotency-Key": plan.key("summary", code)},
            )

        plan.at(plan.local(day, 16, i), f"{city.name} 提交总结", submit)
    return plan.local(due + timedelta(days=2), 18)


LATE = timedelta(minutes=20)  # how far behind its own schedule the demo may run before it resets the clocks


class ProgrammeClock:
    """Sets every service's rehearsal clock and follows it here: programme time = at + (wall − then) × speed."""

    def __init__(self, api: Api, speed: float) -> None:
        self.api = api
        self.speed = speed
        self.at = datetime.now(UTC)
        self.then = time.monotonic()

    def check_control(self) -> None:
        for service in self.api.urls:
            state = self.api.ok(service, "GET", "/api/v1/clock")
            if not state.get("control"):
                raise DemoError(
                    f"{service} 不允许设置演练时钟 / {service} does not let the demo set its clock "
                    "(SCIWEEK_CLOCK_CONTROL=false or SCIWEEK_ENV=production): run the demo on a development stack"
                )

    def set(self, at: datetime, rate: float | None = None) -> None:
        admin = self.api.auth("admin", "demo-office")
        body = {"at": at.isoformat(), "rate": rate or self.speed}
        for service in self.api.urls:
            self.api.ok(service, "PUT", "/api/v1/clock", json=body, headers=admin)
        self.at, self.then = at, time.monotonic()

    def now(self) -> datetime:
        return self.at + timedelta(seconds=(time.monotonic() - self.then) * self.speed)

    def wait_until(self, at: datetime, jump_after: timedelta) -> None:
        """Sleep until programme time `at`; a longer idle stretch (a night, the days before a deadline) is skipped.

        When the demo fell behind (a slow machine at a high speed: one second late is 11 programme hours at 40000×),
        every service's clock is set back to `at`, so that an action happens on its day (a door scan the next
        morning would be refused as `wrong_day`)."""
        gap = at - self.now()
        if gap > jump_after:
            self.set(at - timedelta(minutes=1))
            gap = at - self.now()
        elif -gap > LATE:
            self.set(at)
            gap = timedelta(0)
        if gap > timedelta(0):
            time.sleep(gap.total_seconds() / self.speed)


def dashboard_figures(api: Api, cities: Mapping[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """The dashboard's province totals and the summary status of `cities`, as the office sees them."""
    data = api.ok("reporting", "GET", "/api/v1/dashboard", headers=api.auth("admin", "demo-office"))
    totals = {name: int(data["totals"].get(name, 0)) for name in CHECKED}
    return totals, {c["city_code"]: c["summary"] for c in data["cities"] if c["city_code"] in cities}


def expected(plan: Plan) -> tuple[dict[str, int], dict[str, str]]:
    return {name: plan.done[name] for name in CHECKED}, dict(plan.summaries)


def build_plan(programme: Programme, api: Api, seed: int, scale: float, n_cities: int) -> tuple[Plan, datetime]:
    plan = Plan(programme, seed)
    rng = random.Random(seed)
    cities = programme.cities[:n_cities]
    plan_exhibits(plan, api, cities, rng, scale)
    for city in cities:
        plan_visits(plan, api, city, rng, scale)
        plan_open_days(plan, api, city, rng, scale)
        plan_activities(plan, api, city, rng)
    end = plan_summaries(plan, api, cities)
    plan.actions.sort()
    return plan, end


def play(plan: Plan, clock: ProgrammeClock, end: datetime, progress: Any, jump_after: timedelta) -> None:
    tz = ZoneInfo(plan.programme.timezone)
    clock.set(plan.actions[0].at - timedelta(minutes=1))
    for action in plan.actions:
        clock.wait_until(action.at, jump_after)
        progress.set_postfix_str(f"{action.at.astimezone(tz):%m-%d %H:%M} {action.label}", refresh=False)
        action.run()
        progress.update(1)
    clock.wait_until(end, jump_after)  # past the deadlines: the summaries not sent show as missing


def converge(api: Api, plan: Plan, timeout_s: float) -> tuple[dict[str, int], dict[str, str]]:
    """Wait until the dashboard shows what the demo did (events travel through the broker); the last figures."""
    deadline = time.monotonic() + timeout_s
    want = expected(plan)
    while True:
        got = dashboard_figures(api, plan.summaries)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def report(plan: Plan, got: tuple[dict[str, int], dict[str, str]]) -> bool:
    """Print the demo's totals beside the dashboard's; whether they agree."""
    want_totals, want_summaries = expected(plan)
    got_totals, got_summaries = got
    print("\n演示合计 / demo totals            演示 demo   看板 dashboard")
    for metric in CHECKED:
        mark = "" if want_totals[metric] == got_totals[metric] else "   ≠"
        print(f"  {metric:<28} {want_totals[metric]:>8} {got_totals[metric]:>12}{mark}")
    for state in SUMMARY_STATES:
        w = sum(1 for s in want_summaries.values() if s == state)
        g = sum(1 for s in got_summaries.values() if s == state)
        print(f"  summaries_{state:<18} {w:>8} {g:>12}{'' if w == g else '   ≠'}")
    agree = (want_totals, want_summaries) == (got_totals, got_summaries)
    print("看板与演示一致 / the dashboard agrees" if agree else "看板与演示不一致 / the dashboard differs")
    return agree


def run(urls: Mapping[str, str], settings: Settings, programme: Programme, options: Any) -> bool:
    """Load the programme, play it at `options.speed`, print the totals; whether the dashboard agrees."""
    from tqdm import tqdm

    api = Api(urls, settings)
    clock = ProgrammeClock(api, options.speed)
    clock.check_control()
    plan, end = build_plan(programme, api, options.seed, options.scale, options.cities)
    print(
        f"演练时钟 {options.speed:g} 倍速 / rehearsal clock at {options.speed:g}× programme speed; "
        f"{len(plan.actions)} steps; dashboard: {urls['reporting']}/dashboard",
        flush=True,
    )
    with tqdm(total=len(plan.actions), unit="步", desc="演示 / demo", dynamic_ncols=True) as progress:
        play(plan, clock, end, progress, timedelta(hours=options.jump_hours))
    figures = converge(api, plan, options.timeout)
    clock.set(end, rate=1)  # the rehearsal stays on, at the end of the play, at the pace of the wall clock
    return report(plan, figures)
