"""The volunteers service's collections and indexes."""

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

ASSIGNMENTS = "assignments"


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[ASSIGNMENTS].create_index([("city_code", ASCENDING), ("visit_date", ASCENDING)])
    await db[ASSIGNMENTS].create_index([("commissioner_id", ASCENDING), ("updated_at", ASCENDING)])
