"""Errors as application/problem+json (RFC 9457) with a stable machine-readable `code`."""

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.rules import Kind, RuleViolation

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

HTTP_TITLES = {
    400: "请求无效 / Bad request",
    401: "未认证 / Unauthorized",
    403: "无权限 / Forbidden",
    404: "未找到 / Not found",
    405: "方法不允许 / Method not allowed",
    409: "冲突 / Conflict",
    410: "已失效 / Gone",
    412: "前提条件失败 / Precondition failed",
    413: "请求体过大 / Payload too large",
    415: "不支持的媒体类型 / Unsupported media type",
    422: "请求参数无效 / Invalid request",
    428: "需要前提条件 / Precondition required",
    429: "请求过多 / Too many requests",
}


MAX_ERRORS_SHOWN = 100


def bounded_errors(errors: Sequence[dict[str, Any]], kind: str) -> dict[str, Any]:
    """A problem's list of errors kept small: the first MAX_ERRORS_SHOWN, their total, and a count per `kind`."""
    return {
        "errors": list(errors[:MAX_ERRORS_SHOWN]),
        "error_count": len(errors),
        "error_counts": dict(Counter(str(e.get(kind)) for e in errors)),
    }


class Problem(Exception):
    """An error the API reports to the caller: status, stable code, bilingual title, detail."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {code}: {detail or title}")
        self.headers = headers
        self.status = status
        self.code = code
        self.title = title or HTTP_TITLES.get(status, "错误 / Error")
        self.detail = detail
        self.extra = extra


def problem_response(
    problem: Problem, request: Request | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON response for `problem`."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "code": problem.code,
        **problem.extra,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if request is not None:
        body["instance"] = request.url.path
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request, headers=exc.headers)


# the one table from the domain's kinds of failure to HTTP statuses
STATUS_OF_KIND: dict[Kind, int] = {
    "bad_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "stale": 412,
    "invalid": 422,
    "precondition_required": 428,
}


def violation_problem(exc: RuleViolation) -> Problem:
    """The problem a domain error is answered with."""
    return Problem(STATUS_OF_KIND[exc.kind], exc.code, detail=exc.message, **exc.details)


async def _on_rule_violation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleViolation)
    return problem_response(violation_problem(exc), request)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
    # bounded: a 1 MB body of unknown keys or bad list items would otherwise answer with megabytes of errors
    detail = "请求内容未通过校验 / The request failed validation."
    return problem_response(Problem(422, "validation_error", detail=detail, **bounded_errors(errors, "type")), request)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        Problem(exc.status_code, f"http_{exc.status_code}", detail=detail), request, headers=dict(exc.headers or {})
    )


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """500 for an error nobody expected (a bug), logged with its traceback."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(Problem(500, "internal_error", "服务器内部错误 / Internal server error"), request)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` a problem+json response."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RuleViolation, _on_rule_violation)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, on_unexpected_error)
