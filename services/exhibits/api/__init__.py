"""HTTP routes of the exhibits service, one module per audience."""

from fastapi import APIRouter, Depends, Request

from services.exhibits.api import allocation, catalogue, exhibition, invitations, review, submissions
from services.exhibits.service.catalogue import check_writable


async def refuse_writes_in_archive(request: Request) -> None:
    """Every write of the exhibits API is refused (409 catalogue_archived) once the exhibition is archived."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_writable(request.app.state.runtime)


router = APIRouter(dependencies=[Depends(refuse_writes_in_archive)])
for module in (exhibition, invitations, submissions, review, allocation, catalogue):
    router.include_router(module.router)
