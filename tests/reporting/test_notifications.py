"""Reminders and behind-pace notices reach people: a feed per audience, and e-mail through a real SMTP server."""

import email
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import Message
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from sciweek.embedded import free_port
from services.reporting.main import create_app
from shared.contracts.reporting import SummaryReminder, TargetBehindPace
from shared.testing import eventually, running_service
from tests.reporting import scenario
from tests.reporting.conftest import publish, settled


class Inbox:
    """An aiosmtpd handler keeping every message it receives, with its envelope recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def reminder(city: str, days: int) -> Any:
    data = SummaryReminder(summary_id=f"city:{city}", scope=f"city:{city}", deadline=date(2020, 9, 8), days_left=days)
    return scenario.event("reporting.summary.reminder.v1", data)


async def test_reminders_reach_their_city_by_mail_and_in_its_feed(
    settings_for: Any, auth: Any, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = settings_for(
        "reporting",
        reporting_notify_smtp=f"smtp://127.0.0.1:{port}",
        reporting_notify_recipients={"city:450100": ["kjj@nanning.example.cn"], "province": ["office@gxst.example.cn"]},
        reporting_notify_interval_s=0.2,
    )
    behind = TargetBehindPace(
        target_id="visits",
        metric="completed",
        scope="province",
        done=100,
        expected=400,
        value=1000,
        due=date(2020, 8, 29),
        as_of=datetime(2020, 8, 26, tzinfo=UTC),
    )
    events = [reminder("450100", 3), reminder("450300", 3), scenario.event("reporting.target.behind_pace.v1", behind)]
    async with running_service(create_app(settings)) as (runtime, client):
        await publish(runtime, [*events, events[0]])  # a duplicate delivery notifies once
        await settled(runtime, len(events), len(events) + 1)

        async def mailed() -> bool:
            return (
                len(inbox.received) >= 2
                and await runtime.db["notifications"].count_documents({"delivery": "pending"}) == 0
            )

        await eventually(mailed, timeout_s=20)
        by_recipient = {tuple(to): message for to, message in inbox.received}
        assert set(by_recipient) == {("kjj@nanning.example.cn",), ("office@gxst.example.cn",)}
        assert "3 天" in by_recipient[("kjj@nanning.example.cn",)]["Subject"]
        assert "visits" in by_recipient[("office@gxst.example.cn",)]["Subject"]
        guilin = await runtime.db["notifications"].find_one({"audience": "city:450300"})
        assert guilin is not None and guilin["delivery"] == "no_recipient"  # in the feed, nobody to mail

        nanning = (await client.get("/api/v1/notifications", headers=auth("city", city="450100"))).json()
        assert sorted(n["kind"] for n in nanning["items"]) == ["summary_reminder", "target_behind_pace"]
        assert all(n["audience"] in ("city:450100", "province") for n in nanning["items"])
        everything = (await client.get("/api/v1/notifications", headers=auth("admin"))).json()
        assert len(everything["items"]) == 3
        unit = (await client.get("/api/v1/notifications", headers=auth("unit", org="gxu"))).json()
        assert unit["items"] == []
        page = (await client.get("/api/v1/notifications?limit=2", headers=auth("admin"))).json()
        rest = (await client.get(f"/api/v1/notifications?cursor={page['next_cursor']}", headers=auth("admin"))).json()
        assert len(page["items"]) + len(rest["items"]) == 3
        assert {n["id"] for n in page["items"]}.isdisjoint(n["id"] for n in rest["items"])
