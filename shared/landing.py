"""The landing page every service serves at `/`: what it is, its apps, its API docs, health and metrics."""

from collections.abc import Mapping
from html import escape

# Every service's operational pages, after its own apps.
OPERATIONS = {
    "接口文档 / API docs": "docs",
    "存活检查 / liveness": "healthz",
    "就绪检查 / readiness": "readyz",
    "监控指标 / Prometheus metrics": "metrics",
    "时钟（演练时为活动时间）/ clock": "api/v1/clock",
}

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2rem auto;
  max-width: 44rem; padding: 0 1rem; color: #1f2937; line-height: 1.6 }}
h1 {{ font-size: 1.5rem; margin-bottom: .25rem }} h2 {{ font-size: 1.1rem; margin-top: 1.5rem }}
.programme {{ color: #6b7280 }} a {{ color: #1d4ed8 }} li {{ margin: .25rem 0 }} code {{ color: #6b7280 }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="programme">{programme}</p>
<p>{description}</p>
{apps}
<h2>接口与运维 / API and operations</h2>
<ul>{operations}</ul>
</body>
</html>
"""


def _items(links: Mapping[str, str]) -> str:
    # relative links: behind a gateway the service lives under a path prefix
    return "".join(
        f'<li><a href="{escape(href)}">{escape(label)}</a> <code>{escape(href)}</code></li>'
        for label, href in links.items()
    )


def landing_page(title: str, programme: str, description: str, links: Mapping[str, str]) -> str:
    """The HTML of a landing page; `links` maps a label to a path relative to the page (an app: `dashboard`)."""
    apps = f"<h2>应用 / Apps</h2>\n<ul>{_items(links)}</ul>" if links else ""
    return PAGE.format(
        title=escape(title),
        programme=escape(programme),
        description=escape(description),
        apps=apps,
        operations=_items(OPERATIONS),
    )
