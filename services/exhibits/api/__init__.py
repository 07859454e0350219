"""HTTP routes of the exhibits service, one module per audience."""

from fastapi import APIRouter

from services.exhibits.api import allocation, catalogue, review, submissions

router = APIRouter()
for module in (submissions, review, allocation, catalogue):
    router.include_router(module.router)
