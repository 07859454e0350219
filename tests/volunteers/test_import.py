"""Bulk import of reference data: whole-file validation, errors per line and field, idempotent re-import."""

from typing import Any

from services.volunteers.store import COMMISSIONERS, IMPORTS, VILLAGES
from shared.tabular import xlsx_bytes
from tests.volunteers.conftest import Auth, Service

HEADER = "id,name,phone,city_code,county,expertise,available_dates,max_visits_per_day,base_lat,base_lon"
GOOD = [
    "c-1,黄志强,13800000001,450100,武鸣区,种植;养殖,2020-08-24;2020-08-25,2,23.16,108.27",
    "c-2,李梅,13800000002,450100,宾阳县,电商、加工,2020-08-24,3,23.22,108.81",
]


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


async def upload(
    client: Any, auth: Auth, path: str, name: str, content: bytes, who: str = "admin", **claims: Any
) -> Any:
    return await client.post(path, files={"file": (name, content)}, headers=auth(who, **claims))


async def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    bad = "c-3,韦强,not-a-phone,450100,马山县,种植,2020-08-24,2,23.1,108.1"
    response = await upload(client, auth, "/api/v1/commissioners/import", "people.csv", csv(*GOOD, bad))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "import_invalid"
    reason = problem["errors"][0]["reason"]
    assert problem["errors"] == [{"line": 4, "field": "phone", "reason": reason, "code": "string_pattern_mismatch"}]
    assert (problem["error_count"], problem["error_counts"]) == (1, {"string_pattern_mismatch": 1})
    assert await runtime.db[COMMISSIONERS].count_documents({}) == 0

    other_city = "c-4,韦强,13800000004,450200,柳江区,种植,2020-08-24,2,24.2,109.3"
    duplicate = GOOD[0]
    response = await upload(
        client,
        auth,
        "/api/v1/commissioners/import",
        "people.csv",
        csv(*GOOD, other_city, duplicate),
        "city",
        city="450100",
    )
    assert response.status_code == 422
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(4, "city_code"), (5, "id")]
    assert await runtime.db[COMMISSIONERS].count_documents({}) == 0


async def test_csv_and_xlsx_import_and_reimport_changes_nothing(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    first = await upload(client, auth, "/api/v1/commissioners/import?import_id=people-1", "people.csv", csv(*GOOD))
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["updated"]) == (2, 0)
    again = await upload(client, auth, "/api/v1/commissioners/import", "people.csv", csv(*GOOD))
    assert (again.json()["inserted"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 2)
    stored = await runtime.db[COMMISSIONERS].find_one({"_id": "c-2"})
    assert stored["expertise"] == ["电商", "加工"] and stored["available_dates"] == ["2020-08-24"]
    progress = (await client.get("/api/v1/imports/people-1", headers=auth("admin"))).json()
    assert (progress["status"], progress["processed"], progress["total"]) == ("done", 2, 2)

    header = ["code", "name", "county", "city_code", "lat", "lon", "needs"]
    rows = [[f"v-{i}", f"第{i}村", "武鸣区", "450100", 23.1 + i / 100, 108.2, "种植、养殖"] for i in range(300)]
    book = xlsx_bytes({"村": (header, rows)})
    imported = await upload(client, auth, "/api/v1/villages/import", "villages.xlsx", book, "city", city="450100")
    assert imported.status_code == 200, imported.text
    assert imported.json()["inserted"] == 300 and await runtime.db[VILLAGES].count_documents({}) == 300
    rows[7][4] = "north"
    broken = await upload(client, auth, "/api/v1/villages/import", "villages.xlsx", xlsx_bytes({"村": (header, rows)}))
    assert broken.status_code == 422 and broken.json()["errors"][0]["line"] == 9
    assert (await client.get("/api/v1/imports/people-1", headers=auth("city", city="450100"))).status_code == 404


async def test_an_import_id_stays_with_its_first_caller(volunteers: Service, auth: Auth) -> None:
    _, client = volunteers
    path = "/api/v1/commissioners/import?import_id=nanning-2020"
    first = await upload(client, auth, path, "people.csv", csv(GOOD[0]), "city", sub="coord-a", city="450100")
    assert first.status_code == 200, first.text
    other = await upload(client, auth, path, "people.csv", csv(GOOD[1]), "city", sub="coord-b", city="450100")
    assert (other.status_code, other.json()["code"]) == (409, "import_id_taken")
    mine = await client.get("/api/v1/imports/nanning-2020", headers=auth("city", sub="coord-a", city="450100"))
    assert mine.status_code == 200 and mine.json()["total"] == 1
    theirs = await client.get("/api/v1/imports/nanning-2020", headers=auth("city", sub="coord-b", city="450100"))
    assert theirs.status_code == 404
    again = await upload(client, auth, path, "people.csv", csv(*GOOD), "city", sub="coord-a", city="450100")
    assert again.status_code == 200 and again.json()["inserted"] == 1  # its first caller may run it again


async def test_a_huge_invalid_file_gets_a_bounded_answer_with_counts_per_kind(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    rows = [f"c-{i},韦强,not-a-phone,450100,马山县,种植,2020-08-24,2,23.1,108.1" for i in range(100_000)]
    rows[::1000] = [f"c-{i},,not-a-phone,450100,马山县,种植,2020-08-24,2,23.1,108.1" for i in range(0, 100_000, 1000)]
    response = await upload(client, auth, "/api/v1/commissioners/import", "people.csv", csv(*rows))
    assert response.status_code == 422
    assert len(response.content) < 50_000
    problem = response.json()
    assert problem["error_count"] == 100_100  # every row's phone, and every thousandth row's name too
    assert problem["error_counts"] == {"string_pattern_mismatch": 100_000, "missing": 100}
    assert len(problem["errors"]) == 100 and problem["errors"][0]["line"] == 2
    assert await runtime.db[COMMISSIONERS].count_documents({}) == 0


async def test_a_dry_run_answers_as_the_import_would_and_writes_nothing(volunteers: Service, auth: Auth) -> None:
    runtime, client = volunteers
    path = "/api/v1/commissioners/import?dry_run=true&import_id=dry-1"
    bad = "c-3,韦强,not-a-phone,450100,马山县,种植,2020-08-24,2,23.1,108.1"
    refused = await upload(client, auth, path, "people.csv", csv(*GOOD, bad), "city", city="450100")
    assert (refused.status_code, refused.json()["code"]) == (422, "import_invalid")
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [(4, "phone")]

    checked = await upload(client, auth, path, "people.csv", csv(*GOOD), "city", city="450100")
    assert checked.status_code == 200, checked.text
    report = checked.json()
    assert (report["dry_run"], report["total"], report["inserted"], report["updated"]) == (True, 2, 2, 0)
    assert [row["id"] for row in report["sample"]] == ["c-1", "c-2"] and report["sample"][1]["expertise"] == [
        "电商",
        "加工",
    ]
    assert await runtime.db[COMMISSIONERS].count_documents({}) == 0
    assert await runtime.db[IMPORTS].count_documents({}) == 0  # not even a progress record

    assert (await upload(client, auth, "/api/v1/commissioners/import", "people.csv", csv(GOOD[0]))).status_code == 200
    changed = GOOD[0].replace(",2,23.16", ",3,23.16")
    again = (await upload(client, auth, path, "people.csv", csv(changed, GOOD[1]), "city", city="450100")).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (1, 1, 0)
    same = (await upload(client, auth, path, "people.csv", csv(GOOD[0]), "city", city="450100")).json()
    assert (same["inserted"], same["updated"], same["unchanged"]) == (0, 0, 1)
    assert await runtime.db[COMMISSIONERS].count_documents({}) == 1


async def test_a_coordinator_lists_the_villages_of_their_city_only(volunteers: Service, auth: Auth) -> None:
    _, client = volunteers
    admin = auth("admin")
    for code, city in (("v-a", "450100"), ("v-b", "450100"), ("v-c", "450200")):
        body = {"code": code, "name": f"{code}村", "city_code": city, "lat": 23.1, "lon": 108.2}
        assert (await client.put(f"/api/v1/villages/{code}", json=body, headers=admin)).status_code == 200
    nanning = auth("city", city="450100")
    listed = (await client.get("/api/v1/villages?city_code=450100", headers=nanning)).json()
    assert [v["code"] for v in listed["items"]] == ["v-a", "v-b"] and listed["next_cursor"] is None
    assert listed["items"][0]["name"] == "v-a村"
    other = await client.get("/api/v1/villages?city_code=450200", headers=nanning)
    assert (other.status_code, other.json()["code"]) == (403, "out_of_scope")
