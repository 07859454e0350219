"""HTTP routes of the volunteers service."""

from fastapi import APIRouter

from services.volunteers.api import coordination, dispatch, field, reference

router = APIRouter()
router.include_router(reference.router)
router.include_router(dispatch.router)
router.include_router(field.router)
router.include_router(coordination.router)
