"""A volunteers replica killed with -9 inside a transaction: the service process that is left answers 503 for the
records the dead one held, within its request deadline, instead of hanging until the server ends that transaction.
"""

import time

import httpx
import pytest

from sciweek.embedded import ServiceProcess
from services.volunteers.store import ASSIGNMENTS
from tests.conftest import ProcessStarter
from tests.shared.orphan_transaction import leave_orphaned_transaction
from tests.volunteers.conftest import DATES, Auth, commissioner, register, village

DEADLINE_S = 2.0


@pytest.fixture
def volunteers_process(service_process: ProcessStarter) -> tuple[ServiceProcess, str]:
    return service_process(
        "volunteers", SCIWEEK_REQUEST_DEADLINE_S=str(DEADLINE_S), SCIWEEK_VOLUNTEERS_MISSED_CHECK_S="0"
    )


async def test_records_held_by_a_killed_replica_answer_503_within_the_deadline(
    volunteers_process: tuple[ServiceProcess, str], mongodb_url: str, auth: Auth
) -> None:
    process, db_name = volunteers_process
    coordinator = auth("city", city="450100")
    async with httpx.AsyncClient(base_url=process.url, timeout=20) as client:
        await register(client, auth, [commissioner("c-1"), commissioner("c-2")], [village("v-1")])
        ids = []
        for person in ("c-1", "c-2"):
            body = {"commissioner_id": person, "city_code": "450100", "village_code": "v-1", "visit_date": DATES[0]}
            created = await client.post("/api/v1/assignments", json=body, headers=coordinator)
            assert created.status_code == 201, created.text
            ids.append((created.json()["id"], created.headers["ETag"]))
        (held, held_etag), (free, free_etag) = ids
        await leave_orphaned_transaction(mongodb_url, db_name, ASSIGNMENTS, held)

        edit = {"planned_activities": ["种植技术培训"]}
        started = time.monotonic()
        # unbounded, this waited ~60 s (the server's transaction lifetime), then went through
        busy = await client.patch(
            f"/api/v1/assignments/{held}", json=edit, headers={**coordinator, "If-Match": held_etag}
        )
        elapsed = time.monotonic() - started
        assert busy.status_code == 503, busy.text
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["code"] == "database_unavailable" and int(busy.headers["Retry-After"]) > 0
        assert DEADLINE_S <= elapsed < DEADLINE_S + 3, elapsed

        assert (await client.get(f"/api/v1/assignments/{held}", headers=coordinator)).status_code == 200
        other = await client.patch(
            f"/api/v1/assignments/{free}", json=edit, headers={**coordinator, "If-Match": free_etag}
        )
        assert other.status_code == 200 and other.json()["planned_activities"] == ["种植技术培训"]
