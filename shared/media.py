"""Photos and videos in MongoDB GridFS: type checked by content, size bounded, served back by id."""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import UploadFile
from fastapi.responses import StreamingResponse
from gridfs import AsyncGridFSBucket
from gridfs.errors import FileExists, NoFile
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document
from shared.problems import Problem

IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEOS = frozenset({"video/mp4"})
CHUNK = 256 * 1024


def sniff_type(head: bytes) -> str | None:
    """The media type the first bytes of a file show (the client's Content-Type is not trusted)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def bucket(db: AsyncDatabase[Document], name: str = "media") -> AsyncGridFSBucket:
    return AsyncGridFSBucket(db, bucket_name=name)


async def store_upload(
    db: AsyncDatabase[Document],
    upload: UploadFile,
    *,
    file_id: str,
    allowed: frozenset[str],
    max_bytes: int,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """Store `upload` under `file_id` (a client-chosen id makes retries idempotent); 413/415 on bad files.

    Returns {"id", "content_type", "size"}; storing the same id again returns the stored file's facts.
    """
    body = await upload.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise Problem(413, "media_too_large", detail=f"文件超过 {max_bytes // 1024} KB / file too large")
    content_type = sniff_type(body[:16])
    if content_type not in allowed:
        raise Problem(415, "unsupported_media_type", detail=f"只接受 / accepted types: {', '.join(sorted(allowed))}")
    files = bucket(db)
    try:
        await files.upload_from_stream_with_id(
            file_id, upload.filename or file_id, body, metadata={**metadata, "content_type": content_type}
        )
    except FileExists:
        stored = await db["media.files"].find_one({"_id": file_id})
        if stored is None or stored.get("metadata", {}).get("content_type") != content_type:
            raise Problem(409, "media_id_taken", detail="该文件编号已被使用 / file id already used") from None
        return {"id": file_id, "content_type": content_type, "size": int(stored["length"])}
    return {"id": file_id, "content_type": content_type, "size": len(body)}


async def media_response(db: AsyncDatabase[Document], file_id: str) -> StreamingResponse:
    """Stream a stored file with its content type; 404 if there is none."""
    try:
        stream = await bucket(db).open_download_stream(file_id)
    except NoFile:
        raise Problem(404, "media_not_found", detail="文件不存在 / no such file") from None
    content_type = (stream.metadata or {}).get("content_type", "application/octet-stream")

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await stream.readchunk():
            yield chunk

    return StreamingResponse(chunks(), media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})
