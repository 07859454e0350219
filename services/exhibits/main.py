"""The exhibits service: submissions, review, booth allocation, the cloud exhibition."""

from pathlib import Path

from fastapi import FastAPI

from services.exhibits import store
from services.exhibits.api import router
from services.exhibits.api.expo import STATIC, pages
from services.exhibits.service.hall import build_hall, load_booths
from shared.app import ServiceSpec, build_app
from shared.programme import load_programme
from shared.settings import Settings

APPS = Path(__file__).resolve().parent / "app"
# the consoles: exhibitors (by invitation), reviewers, the exhibition office; and the cloud exhibition's script
APP_PATHS = {
    "/exhibitor": APPS / "exhibitor",
    "/review": APPS / "review",
    "/office": APPS / "office",
    "/expo/static": STATIC,
}


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
        apps=APP_PATHS,
        description="“两周一展”科技展（南宁国际会展中心 D8 馆）：展项申报、评审与决定、展位分配与发布，"
        "以及持续开放的云展厅。/ Exhibit submissions, review, booths and the cloud exhibition.",
        links={
            "云展厅 / cloud exhibition": "expo/",
            "展商申报（凭邀请链接）/ exhibitors' console": "exhibitor/",
            "专家评审 / reviewers' console": "review/",
            "展览办公室：决定、展位图、发布 / the exhibition office's console": "office/",
            "云展厅展项目录 / cloud exhibition catalogue (API)": "api/v1/catalogue",
        },
    )
    return build_app(spec, settings)
