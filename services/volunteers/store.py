"""The volunteers service's collections and indexes."""

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

ASSIGNMENTS = "assignments"
COMMISSIONERS = "commissioners"
VILLAGES = "villages"
HOUSEHOLDS = "households"
DAY_LOADS = "day_loads"  # one document per commissioner and date: how many visits hold that day
SYNC_OPS = "sync_operations"  # the result of every applied phone operation, by caller and operation id
FLAGS = "flags"
QUOTAS = "quotas"
IMPORTS = "imports"
ENROLMENTS = "enrolments"  # the phones enrolled by QR code, by credential id (jti)
SYNC_OPS_TTL_S = 60 * 24 * 3600


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[ASSIGNMENTS].create_index([("city_code", ASCENDING), ("status", ASCENDING), ("_id", ASCENDING)])
    await db[ASSIGNMENTS].create_index([("commissioner_id", ASCENDING), ("updated_at", ASCENDING)])
    await db[ASSIGNMENTS].create_index([("previous_commissioner_ids", ASCENDING), ("updated_at", ASCENDING)])
    await db[COMMISSIONERS].create_index([("city_code", ASCENDING), ("_id", ASCENDING)])
    await db[VILLAGES].create_index([("city_code", ASCENDING), ("_id", ASCENDING)])
    await db[HOUSEHOLDS].create_index([("village_code", ASCENDING)])
    await db[FLAGS].create_index([("city_code", ASCENDING), ("resolved", ASCENDING), ("_id", ASCENDING)])
    await db[SYNC_OPS].create_index("created_at", expireAfterSeconds=SYNC_OPS_TTL_S)
    await db[DAY_LOADS].create_index([("commissioner_id", ASCENDING)])
    await db[ENROLMENTS].create_index([("city_code", ASCENDING), ("_id", ASCENDING)])
    await db[ENROLMENTS].create_index([("commissioner_id", ASCENDING), ("status", ASCENDING)])
