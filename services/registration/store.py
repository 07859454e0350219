"""The registration service's collections and indexes."""

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

VENUES = "venues"


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[VENUES].create_index([("city_code", ASCENDING), ("status", ASCENDING)])
    await db[VENUES].create_index([("owner", ASCENDING)])
