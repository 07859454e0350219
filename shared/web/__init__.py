"""Static files of the apps: the vendored front-end libraries (one copy for every service) and each app's own."""

from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VENDOR = Path(__file__).resolve().parent / "vendor"  # <package>@<version>/..., see vendor.txt
LIB = Path(__file__).resolve().parent / "lib"  # the apps' own common scripts: api.js, queue.js
FOREVER = "public, max-age=31536000, immutable"  # versioned paths never change
REVALIDATE = "no-cache"  # an app's own files: always revalidated (ETag), so a deploy is seen at once


class CachedFiles(StaticFiles):
    """Starlette's static files (ETag, Last-Modified, no path traversal) with a Cache-Control policy."""

    def __init__(self, directory: Path, cache_control: str, **options: Any) -> None:
        super().__init__(directory=directory, **options)
        self.cache_control = cache_control

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers.setdefault("Cache-Control", self.cache_control)
        return response
