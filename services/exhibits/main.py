"""The exhibits service: submissions, review, booth allocation, the cloud exhibition."""

from fastapi import FastAPI

from services.exhibits import store
from services.exhibits.api import router
from services.exhibits.api.expo import STATIC, pages
from services.exhibits.service.hall import build_hall, load_booths
from shared.app import ServiceSpec, build_app
from shared.programme import load_programme
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="exhibits")
    # A broken booth grid stops the service at start-up rather than at the first allocation.
    build_hall(load_programme(settings.programme_file), load_booths(settings.exhibits_booths_file), 1)
    weights = settings.exhibits_criteria
    if not weights or any(w <= 0 for w in weights.values()):
        raise ValueError("SCIWEEK_EXHIBITS_CRITERIA needs at least one criterion, every weight > 0")
    spec = ServiceSpec(
        name="exhibits",
        title="sciweek 科技展 exhibits",
        router=router,
        ensure_indexes=store.ensure_indexes,
        pages=pages,  # the cloud exhibition at /expo/
        apps={"/expo/static": STATIC},
        description="“两周一展”科技展（南宁国际会展中心 D8 馆）：展项申报、评审与决定、展位分配与发布，"
        "以及持续开放的云展厅。/ Exhibit submissions, review, booths and the cloud exhibition.",
        links={"云展厅展项目录 / cloud exhibition catalogue (API)": "api/v1/catalogue"},
    )
    return build_app(spec, settings)
