"""One error format for every failure: RFC 9457 ``application/problem+json``.

Services raise :class:`DomainError` subclasses with a stable snake_case ``code``; the handlers
installed by :func:`install_error_handlers` render them, FastAPI validation errors, unknown
routes, wrong methods and unexpected exceptions into the same shape. Nothing internal (stack
traces, SQL) ever reaches the client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("clipshop.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="Dotted location of the bad value, e.g. `body.skus.0.price_minor`")
    message: str
    type: str = Field(description="Machine-readable error type")


class Problem(BaseModel):
    """RFC 9457 problem details, plus a stable `code`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "/problems/not_found",
                "title": "Not Found",
                "status": 404,
                "detail": "Clip not found",
                "code": "not_found",
                "instance": "/v1/clips/0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50",
                "request_id": "6f1c2d0e9b7a4c55",
            }
        },
    )

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    status_code: int = 400
    code: str = "bad_request"
    title: str | None = None
    # Commit the unit of work instead of rolling it back when this error ends a request.
    commit_on_error: bool = False
    # Response headers the problem carries (e.g. ``Retry-After`` on a 429).
    headers: dict[str, str] | None = None

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class BadRequest(DomainError):
    status_code = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PreconditionFailed(DomainError):
    status_code = 412
    code = "precondition_failed"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class Unprocessable(DomainError):
    status_code = 422
    code = "unprocessable"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "validation_error",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    request: Request | None,
    status: int,
    code: str,
    detail: str | None = None,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title or _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = getattr(request.state, "request_id", None)
    if errors is not None:
        body["errors"] = errors
    if extra:
        for key, value in extra.items():
            body.setdefault(key, value)
    return body


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(request, status, code, detail, **kwargs),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_error_response(request, exc)


def domain_error_response(request: Request | None, exc: DomainError) -> JSONResponse:
    """The problem response for a domain error (also used outside FastAPI's handlers)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else exc.headers
    return problem_response(
        request,
        exc.status_code,
        exc.code,
        exc.detail,
        title=exc.title,
        extra=exc.extra,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    malformed = False
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            malformed = True
        errors.append(
            {"field": _field_path(err.get("loc", ())), "message": err.get("msg", ""), "type": err["type"]}
        )
    if malformed:
        return problem_response(
            request, 400, "malformed_json", "The request body is not valid JSON", errors=errors
        )
    return problem_response(request, 422, "validation_error", "The request has invalid fields", errors=errors)


def allowed_methods(routes: Any, path: str) -> list[str]:
    """Every method some route of ``path`` answers (plus HEAD with GET, and OPTIONS), sorted:
    the ``Allow`` header of OPTIONS and 405 answers."""
    from fastapi.routing import iter_route_contexts

    methods: set[str] = set()
    for context in iter_route_contexts(routes):
        regex = getattr(context.route, "path_regex", None)
        if regex is not None and regex.match(path) and context.methods:
            methods.update(context.methods)
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _STATUS_CODES.get(status, "error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    if status == 404 and detail == "Not Found":
        detail = f"No route matches {request.url.path}"
    headers = getattr(exc, "headers", None)
    if status == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
        allow = allowed_methods(request.app.routes, request.url.path)
        if allow:
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
    return problem_response(request, status, code, detail, headers=headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Services check what they can up front; a constraint that still fires is a race between
    # two requests (e.g. the same email signed up twice at once). The transaction is rolled back.
    logger.info("integrity error", extra={"path": request.url.path, "error": str(exc)[:300]})
    return problem_response(request, 409, "conflict", "The request conflicts with the current state; retry")


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # A value the database cannot store (e.g. a NUL character in text on PostgreSQL).
    logger.info("data error", extra={"path": request.url.path, "error": str(exc)[:300]})
    return problem_response(request, 422, "invalid_value", "A value in the request cannot be stored")


# Seconds a client should wait before retrying when a dependency is down.
RETRY_AFTER_SECONDS = 1


def unavailable_response(request: Request | None, dependency: str) -> JSONResponse:
    """503 problem with ``Retry-After``: a dependency (database, Redis, storage) is unreachable."""
    return problem_response(
        request,
        503,
        "service_unavailable",
        f"The {dependency} is unavailable; retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        extra={"dependency": dependency},
    )


def is_unavailable_error(exc: BaseException) -> str | None:
    """The name of the dependency an exception says is unreachable, or None.

    Connection failures, pool timeouts and SQLite lock timeouts are outages (503, retry), not
    server bugs; constraint and data errors are handled separately."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
        return "database"
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout
    except ImportError:  # pragma: no cover - redis is a dependency
        return None
    if isinstance(exc, (RedisConnectionError, RedisTimeout)):
        return "redis"
    return None


async def _unavailable_error(request: Request, exc: Exception) -> JSONResponse:
    dependency = is_unavailable_error(exc) or "service"
    logger.warning(
        "dependency unavailable",
        extra={"path": request.url.path, "dependency": dependency, "error": str(exc)[:300]},
    )
    return unavailable_response(request, dependency)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable_error(exc):
        return await _unavailable_error(request, exc)
    logger.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(request, 500, "internal_error", "An unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    for outage in (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, RedisConnectionError, RedisTimeout):
        app.add_exception_handler(outage, _unavailable_error)
    app.add_exception_handler(Exception, _unexpected_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the given error statuses."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code = _STATUS_CODES.get(status, "error")
        responses[status] = {
            "model": Problem,
            "description": _title(status),
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": {
                        "type": f"/problems/{code}",
                        "title": _title(status),
                        "status": status,
                        "detail": None,
                        "code": code,
                    },
                }
            },
        }
    return responses
