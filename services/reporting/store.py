"""The reporting service's read models."""

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

VISITS = "visits"
CITY_PROGRESS = "city_progress"
COUNTERS = (
    "planned",
    "completed",
    "households_reached",
    "consultations",
    "trainees",
    "books",
    "venues_registered",
    "exhibits_submitted",
)


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[VISITS].create_index("city_code")
