"""HTTP routes of the registration service, one module per audience."""

from fastapi import APIRouter

from services.registration.api import activities, door, invitations, public, venues

router = APIRouter()
router.include_router(venues.router)
router.include_router(public.router)
router.include_router(door.router)
router.include_router(activities.router)
router.include_router(invitations.router)
