"""Photos and videos in MongoDB GridFS: type checked by content, size bounded, served back by id."""

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

from fastapi import UploadFile
from fastapi.responses import Response, StreamingResponse
from gridfs import AsyncGridFSBucket
from gridfs.errors import FileExists, NoFile
from PIL import Image, ImageOps
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document
from shared.problems import Problem

IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEOS = frozenset({"video/mp4"})
CHUNK = 256 * 1024
RENDITION_WIDTH = 800  # a phone's full width at 2x; wider screens may load the original
PRIVATE = "private, max-age=3600"


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


def media_etag(stored: Any) -> str:
    """A stored file's ETag: a file id is written once (a repeat upload keeps the first), so id and length do."""
    return f'"{stored._id}-{stored.length}"'


async def media_response(db: AsyncDatabase[Document], file_id: str, cache_control: str = PRIVATE) -> StreamingResponse:
    """Stream a stored file with its content type and ETag; 404 if there is none."""
    response = await conditional_media_response(db, file_id, cache_control, None)
    assert isinstance(response, StreamingResponse)
    return response


async def conditional_media_response(
    db: AsyncDatabase[Document], file_id: str, cache_control: str, if_none_match: str | None
) -> Response:
    """`media_response`, or 304 Not Modified when `if_none_match` names the stored file's ETag."""
    try:
        stream = await bucket(db).open_download_stream(file_id)
    except NoFile:
        raise Problem(404, "media_not_found", detail="文件不存在 / no such file") from None
    content_type = (stream.metadata or {}).get("content_type", "application/octet-stream")
    headers = {"Cache-Control": cache_control, "ETag": media_etag(stream)}
    if if_none_match is not None and headers["ETag"] in [t.strip() for t in if_none_match.split(",")]:
        await stream.close()
        return Response(status_code=304, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await stream.readchunk():
            yield chunk

    return StreamingResponse(chunks(), media_type=content_type, headers=headers)


def downscale(image: bytes, width: int = RENDITION_WIDTH) -> tuple[bytes, dict[str, int]]:
    """A JPEG at most `width` pixels wide (orientation applied, no metadata kept), and both images' sizes."""
    with Image.open(io.BytesIO(image)) as source:
        picture = ImageOps.exif_transpose(source)
        original = {"original_width": picture.width, "original_height": picture.height}
        if picture.width > width:
            picture = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        picture.convert("RGB").save(out, "JPEG", quality=78, optimize=True, progressive=True)
    return out.getvalue(), {**original, "width": picture.width, "height": picture.height}


def rendition_id(file_id: str, width: int = RENDITION_WIDTH) -> str:
    return f"{file_id}@{width}w"


async def ensure_rendition(db: AsyncDatabase[Document], file_id: str, width: int = RENDITION_WIDTH) -> dict[str, int]:
    """Make the downscaled JPEG of a stored image once (kept in GridFS beside it); its and the original's sizes."""
    files = bucket(db)
    smaller = rendition_id(file_id, width)
    existing = await db["media.files"].find_one({"_id": smaller}, {"metadata": 1})
    if existing is not None:
        return dict(existing["metadata"]["sizes"])
    try:
        original = await (await files.open_download_stream(file_id)).read()
    except NoFile:
        raise Problem(404, "media_not_found", detail="文件不存在 / no such file") from None
    try:
        body, sizes = await asyncio.to_thread(downscale, original, width)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise Problem(415, "unreadable_image", detail="图片无法解码 / the image cannot be decoded") from None
    try:
        metadata = {"content_type": "image/jpeg", "rendition_of": file_id, "sizes": sizes}
        await files.upload_from_stream_with_id(smaller, f"{width}w.jpg", body, metadata=metadata)
    except FileExists:  # another request made it meanwhile: the same picture
        pass
    return sizes
