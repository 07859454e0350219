"""The exhibits service's collections and indexes."""

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

SUBMISSIONS = "submissions"


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[SUBMISSIONS].create_index([("org_id", ASCENDING), ("status", ASCENDING)])
