"""The exhibits service's collections and indexes."""

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

SUBMISSIONS = "submissions"
REVIEWS = "reviews"
REVIEWERS = "reviewers"
ALLOCATION = "allocation"  # one document, "working": the proposal being edited by hand
RELEASES = "allocation_releases"  # _id is the release number
WORKING = "working"
INVITATIONS = "exhibitor_invitations"  # one-time links for exhibitors; an id is its credential's jti


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[SUBMISSIONS].create_index([("org_id", ASCENDING), ("_id", ASCENDING)])
    await db[SUBMISSIONS].create_index([("status", ASCENDING), ("zone", ASCENDING), ("_id", ASCENDING)])
    # The catalogue: term lookups (multikey) and the filtered browse order.
    await db[SUBMISSIONS].create_index([("search_terms", ASCENDING), ("listed", ASCENDING)])
    await db[SUBMISSIONS].create_index([("title_terms", ASCENDING)])
    await db[SUBMISSIONS].create_index([("listed", ASCENDING), ("accepted_at", DESCENDING), ("_id", ASCENDING)])
    await db[REVIEWS].create_index([("exhibit_id", ASCENDING), ("reviewer_id", ASCENDING)], unique=True)
    await db[INVITATIONS].create_index([("secret_sha256", ASCENDING)], unique=True)
    await db[INVITATIONS].create_index([("created_at", ASCENDING)])
