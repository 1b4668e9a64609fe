"""The ASGI application: ``uvicorn app.main:app``."""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.db import get_engine
from app.errors import PROBLEM_MEDIA_TYPE, install_error_handlers, problem_responses
from app.feed.fastpath import FeedFastPath
from app.observability import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    configure_logging,
    metrics_response,
)
from app.registry import domain_modules
from app.storage import get_storage

logger = logging.getLogger("clipshop")

DESCRIPTION = """
ClipShop is the backend of a shoppable short-video feed: creators upload clips, merchants tag
their products in them, viewers swipe a personalised feed and buy from live stock.

Authenticate with `POST /v1/auth/token` (or start a guest session with `POST /v1/auth/guest`)
and send `Authorization: Bearer <access_token>`. Every error is `application/problem+json`
(RFC 9457) with a stable `code`.
"""


def discover_routers() -> list[APIRouter]:
    """Every ``app/<domain>/router.py`` that defines ``router`` is mounted, in name order, except
    that a module may set ``ROUTER_PRIORITY`` (default 100; lower is mounted first): routes are
    matched one by one in mounting order, so the hottest routes go first."""
    modules = sorted(domain_modules("router"), key=lambda module: getattr(module, "ROUTER_PRIORITY", 100))
    routers = [getattr(module, "router", None) for module in modules]
    return [router for router in routers if isinstance(router, APIRouter)]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@asynccontextmanager
async def lifespan(application: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    if settings.should_auto_migrate:
        from app.cli import run_migrations

        await run_in_threadpool(run_migrations)
    from app import jobs

    if jobs.is_inprocess():
        jobs.start_inprocess_worker()
    for hook in _startup_hooks:
        await run_in_threadpool(hook)
    from app.feed.runtime import warm_at_startup

    await run_in_threadpool(warm_at_startup)  # the feed engine is built before serving
    yield


_startup_hooks: list[Any] = []


def on_startup(hook: Any) -> Any:
    """Domains register blocking start-up work here (e.g. warming the feed index)."""
    _startup_hooks.append(hook)
    return hook


def _custom_openapi(application: FastAPI) -> dict[str, Any]:
    if application.openapi_schema:
        return application.openapi_schema
    schema = get_openapi(
        title=application.title,
        version=application.version,
        description=application.description,
        routes=application.routes,
        tags=application.openapi_tags,
    )
    problem = problem_responses(400, 413, 422)

    def problem_entry(status: int, description: str | None = None) -> dict[str, Any]:
        return {
            "description": description or problem[status]["description"],
            "content": copy.deepcopy(problem[status]["content"]),
        }

    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            # Validation failures are problem documents, not FastAPI's default shape.
            if "422" in responses or operation.get("parameters") or operation.get("requestBody"):
                responses["422"] = problem_entry(422, "Validation error")
            if operation.get("requestBody"):
                for status in (400, 413):
                    responses.setdefault(str(status), problem_entry(status))
            # Problem bodies are served as application/problem+json only.
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    content = response.get("content", {})
                    if "application/json" in content and PROBLEM_MEDIA_TYPE in content:
                        del content["application/json"]
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    application.openapi_schema = schema
    return schema


OPENAPI_TAGS = [
    {"name": "auth", "description": "Sign-up, login, guest sessions, token refresh and logout"},
    {"name": "accounts", "description": "The signed-in user's own account and profile"},
    {"name": "creators", "description": "Public creator profiles"},
    {"name": "merchant", "description": "Merchant organisations, catalog and analytics"},
    {"name": "interests", "description": "Interest taxonomy and onboarding"},
    {"name": "admin", "description": "Operator endpoints"},
    {"name": "operations", "description": "Health, readiness and metrics"},
]


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    application = FastAPI(
        title="ClipShop",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=OPENAPI_TAGS,
        default_response_class=JSONResponse,
    )
    install_error_handlers(application)

    @application.get("/healthz", response_model=Health, tags=["operations"], summary="Process is up")
    async def healthz() -> Health:
        return Health(status="ok")

    @application.get(
        "/readyz",
        response_model=Readiness,
        tags=["operations"],
        summary="Database and storage reachable",
        responses={503: {"model": Readiness, "description": "A dependency is down"}},
    )
    def readyz() -> Any:
        checks: dict[str, str] = {}
        try:
            with get_engine().connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            logger.warning("readiness: database unreachable", extra={"error": str(exc)[:200]})
            checks["database"] = "unreachable"
        try:
            get_storage().check()
            checks["storage"] = "ok"
        except Exception as exc:
            logger.warning("readiness: storage unreachable", extra={"error": str(exc)[:200]})
            checks["storage"] = "unreachable"
        from app.feed.runtime import readiness

        feed = readiness()
        if feed is not None:
            checks["feed"] = feed
        ready = all(value == "ok" for value in checks.values())
        body = Readiness(status="ok" if ready else "unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    @application.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def metrics() -> Response:
        return metrics_response()

    for router in discover_routers():
        application.include_router(router)

    # innermost of the service's middleware: the feed keeps request ids, metrics, logs and CORS
    application.add_middleware(FeedFastPath)
    application.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        exempt_prefixes=settings.body_limit_exempt_prefixes,
    )
    if settings.cors_origins:
        application.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "ETag"],
        )
    application.add_middleware(RequestContextMiddleware)
    application.openapi = lambda: _custom_openapi(application)  # type: ignore[method-assign]
    return application


app = create_app()
