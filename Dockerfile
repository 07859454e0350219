# syntax=docker/dockerfile:1
# One image for all four services; the service is chosen by the command: `sciweek serve <name>`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

# A CJK font for the summary PDFs (reporting embeds it so any viewer renders the Chinese text).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir "uv==0.13.8"

WORKDIR /app

# 1. The locked third-party dependencies only (cached until pyproject.toml / uv.lock change).
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# 2. The sources, then the project itself (hatchling builds packages `shared`, `services` and `sciweek`).
#    uv installs it editable (uv.lock: source = { editable = "." }), so `shared` is imported from
#    /app/shared and shared.settings.REPO_ROOT is /app: config/programme.toml is found there.
COPY shared/ shared/
COPY services/ services/
COPY sciweek/ sciweek/
COPY config/ config/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
    && /app/.venv/bin/python -c "import sciweek.cli, shared.settings as s; assert (s.REPO_ROOT / 'config' / 'programme.toml').is_file()"

# The code stays owned by root (read-only for the service); the service runs unprivileged.
RUN groupadd --system --gid 10001 sciweek \
    && useradd --system --uid 10001 --gid sciweek --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sciweek
USER sciweek:sciweek

ENV PATH=/app/.venv/bin:$PATH \
    SCIWEEK_HOST=0.0.0.0

EXPOSE 8001 8002 8003 8004

CMD ["sciweek", "serve", "reporting"]
