"""Visit photos in GridFS, stored under the assignment and a client-generated id."""

from typing import Any

from fastapi import UploadFile
from fastapi.responses import StreamingResponse

from shared.media import IMAGES, media_response, store_upload
from shared.rules import RuleViolation
from shared.unit_of_work import UnitOfWork

FILES = "media.files"


def file_id(assignment_id: str, photo_id: str) -> str:
    return f"{assignment_id}/{photo_id}"


async def store_photo(uow: UnitOfWork, assignment_id: str, photo_id: str, upload: UploadFile) -> dict[str, Any]:
    """Store a photo (a retry with the same id returns the stored one); at most `visit_photos_max` per visit."""
    stored = await uow.db[FILES].count_documents({"metadata.assignment_id": assignment_id})
    exists = await uow.db[FILES].find_one({"_id": file_id(assignment_id, photo_id)}, {"_id": 1})
    if exists is None and stored >= uow.settings.volunteers_visit_photos_max:
        raise RuleViolation(
            "too_many_photos", f"每次走访最多 {uow.settings.volunteers_visit_photos_max} 张 / too many photos"
        )
    facts = await store_upload(
        uow.db,
        upload,
        file_id=file_id(assignment_id, photo_id),
        allowed=IMAGES,
        max_bytes=uow.settings.volunteers_visit_photo_max_bytes,
        metadata={"assignment_id": assignment_id},
    )
    return {**facts, "id": photo_id}


async def check_photos(uow: UnitOfWork, assignment_id: str, photo_ids: list[str]) -> None:
    """A report may only name photos already uploaded for this visit."""
    if len(photo_ids) > uow.settings.volunteers_visit_photos_max:
        raise RuleViolation(
            "too_many_photos",
            f"每次走访最多 {uow.settings.volunteers_visit_photos_max} 张 / too many photos",
            "invalid",
        )
    wanted = [file_id(assignment_id, p) for p in photo_ids]
    found = {d["_id"] async for d in uow.db[FILES].find({"_id": {"$in": wanted}}, {"_id": 1})}
    missing = [p for p, f in zip(photo_ids, wanted, strict=True) if f not in found]
    if missing:
        raise RuleViolation("unknown_photo", "照片尚未上传 / photos not uploaded: " + ", ".join(missing), "invalid")


async def photo_response(uow: UnitOfWork, assignment_id: str, photo_id: str) -> StreamingResponse:
    return await media_response(uow.db, file_id(assignment_id, photo_id))
