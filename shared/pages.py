"""Server-rendered public pages: Jinja2 templates, relative links, absolute share URLs, ETag and cache policy.

Pages use relative URLs (a page at /expo/exhibits/x reaches its service's root as "../../"), so they work on the
service's own port and behind a gateway that mounts every service under one origin. Only what leaves the page (a
share link, Open Graph `og:url`, a QR code) is absolute: from SCIWEEK_PUBLIC_BASE_URL, else the request's origin.
"""

import hashlib
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.settings import Settings

SHARED_TEMPLATES = Path(__file__).resolve().parent / "web" / "templates"  # the site's common layout
PAGE_CACHE = "public, no-cache"  # revalidated on every visit (cheap: 304 by ETag), so an edit shows at once
ARCHIVE_CACHE = "public, max-age=3600"  # a read-only catalogue changes only with a deploy


def templates(directory: Path) -> Environment:
    """A Jinja2 environment over a service's templates and the shared layout (HTML autoescaped)."""
    return Environment(
        loader=FileSystemLoader([directory, SHARED_TEMPLATES]),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def root_of(request: Request) -> str:
    """The relative URL of the service's root from the requested page ("../" from /expo/, "../../" below it)."""
    depth = request.url.path.count("/") - 1
    return "../" * depth if depth > 0 else "./"


def public_base(request: Request, settings: Settings) -> str:
    """The public origin (and path prefix) of the site, without a trailing slash."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def site_link(request: Request, settings: Settings, path: str) -> str:
    """A link to another service's page (`path` from the site root, e.g. "calendar/"): absolute under
    SCIWEEK_PUBLIC_BASE_URL, else relative (right behind a gateway that serves every service on one origin)."""
    if settings.public_base_url:
        return f"{settings.public_base_url.rstrip('/')}/{path}"
    return root_of(request) + path


def etag_of(body: bytes) -> str:
    """A weak ETag of a rendered body: equal bodies, equal tags (whatever produced them)."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:20]}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether a request's If-None-Match names `tag` (weak comparison, as RFC 9110 asks for GET)."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == wanted for t in if_none_match.split(","))


def cached(
    request: Request,
    body: str | bytes,
    media_type: str = "text/html; charset=utf-8",
    cache_control: str = PAGE_CACHE,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """`body` with its ETag and Cache-Control, or 304 Not Modified when the client already holds it."""
    raw = body.encode() if isinstance(body, str) else body
    tag = etag_of(raw)
    common = {"ETag": tag, "Cache-Control": cache_control, **(headers or {})}
    if status_code == 200 and matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=common)
    if media_type.startswith("text/html"):
        return HTMLResponse(raw, status_code=status_code, headers=common)
    return Response(raw, status_code=status_code, media_type=media_type, headers=common)


def render(env: Environment, name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)
