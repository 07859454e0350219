"""HTTP routes of the volunteers service."""

from fastapi import APIRouter, Depends

from services.volunteers.api import coordination, dispatch, enrolment, field, reference

# every route refuses a device whose enrolment was revoked, whatever else it checks
router = APIRouter(dependencies=[Depends(enrolment.enrolment_in_force)])
router.include_router(reference.router)
router.include_router(dispatch.router)
router.include_router(field.router)
router.include_router(coordination.router)
router.include_router(enrolment.router)
