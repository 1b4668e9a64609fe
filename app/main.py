"""The ASGI application: ``uvicorn app.main:app``."""

from __future__ import annotations

import copy
import logging
import re
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
from starlette.types import ASGIApp, Receive, Scope, Send

from app import access
from app.accounts.dependencies import authenticate_headers
from app.config import Settings, get_settings
from app.db import get_engine
from app.errors import PROBLEM_MEDIA_TYPE, allowed_methods, install_error_handlers, problem_responses
from app.feed.fastpath import FeedFastPath
from app.observability import (
    BodyLimitMiddleware,
    BodyRule,
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

    started_jobs = jobs.is_inprocess() and jobs.start_inprocess_worker()
    for hook in _startup_hooks:
        await run_in_threadpool(hook)
    from app.feed.runtime import warm_at_startup

    await run_in_threadpool(warm_at_startup)  # the feed engine is built before serving
    yield
    # Jobs not relayed yet stay in the outbox for the next process; running ones are retried
    # when their lease expires.
    if started_jobs:
        await run_in_threadpool(jobs.stop_inprocess_worker)
    jobs.relay.stop()


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
    problem = problem_responses(400, 401, 403, 404, 413, 422, 503)
    rules = access.rules_by_operation(application.routes)

    def problem_entry(status: int, description: str | None = None) -> dict[str, Any]:
        return {
            "description": description or problem[status]["description"],
            "content": copy.deepcopy(problem[status]["content"]),
        }

    def problem_entry_for(status: int) -> dict[str, Any]:
        return problem_entry(status)

    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            # Headers the route refuses to go without (with its own status, e.g. 428) are
            # declared optional to FastAPI but required to clients: `x-required-headers`.
            required_headers = {name.lower() for name in operation.pop("x-required-headers", [])}
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter["name"].lower() in required_headers:
                    parameter["required"] = True
                    parameter.get("schema", {}).pop("anyOf", None)
                    parameter.setdefault("schema", {}).update({"type": "string", "minLength": 1})
            responses = operation.setdefault("responses", {})
            # What any caller can meet, by the route's access rule: a bad or signed-out token
            # (401) wherever a token is read, a role or ownership refusal (403/404), and an
            # unavailable dependency (503, with Retry-After) everywhere.
            rule = rules.get((method, path))
            if operation.get("security") or (rule and rule != "public" and rule != "webhook_signature"):
                responses.setdefault("401", problem_entry_for(401))
            if rule and (rule.split("+")[0] not in ("public", "authenticated", "webhook_signature") or "+" in rule):
                responses.setdefault("403", problem_entry_for(403))
            if rule and rule.endswith("+owner"):
                responses.setdefault("404", problem_entry_for(404))
            responses.setdefault("503", problem_entry_for(503))
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
    access.publish(schema, application.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    application.openapi_schema = schema
    return schema


def _ping_redis(url: str, timeout: float) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


class OptionsMiddleware:
    """``OPTIONS`` on any path the API has answers 204 with an ``Allow`` header listing every
    method of that path (CORS preflights are answered by the CORS middleware in front of it)."""

    def __init__(self, app: ASGIApp, application: FastAPI) -> None:
        self.app = app
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            allow = allowed_methods(self.application.routes, scope["path"])
            if allow:
                await Response(status_code=204, headers={"Allow": ", ".join(allow)})(scope, receive, send)
                return
        await self.app(scope, receive, send)


def body_rules(settings: Settings) -> list[BodyRule]:
    """Routes whose body may exceed ``max_body_bytes``: each has its own limit, and the caller is
    authenticated from the headers before a byte of the body is read (401/413 up front). A new
    route taking files adds a rule here."""
    uuid_part = "[^/]+"
    envelope = settings.multipart_overhead_bytes
    return [
        BodyRule("PUT", re.compile(f"/v1/uploads/{uuid_part}/content"), settings.max_upload_bytes),
        BodyRule("POST", re.compile(f"/v1/uploads/{uuid_part}/complete"), settings.upload_complete_max_bytes),
        BodyRule("PUT", re.compile("/v1/me/avatar"), settings.avatar_max_bytes + envelope),
        BodyRule(
            "POST",
            re.compile(f"/v1/merchant/catalog/products/{uuid_part}/images"),
            settings.product_image_max_bytes + envelope,
        ),
        BodyRule("POST", re.compile("/v1/merchant/catalog/imports"), settings.catalog_import_max_bytes + envelope),
    ]


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

    @application.get(
        "/healthz",
        response_model=Health,
        tags=["operations"],
        summary="Process is up",
        openapi_extra={"x-access": "public"},
    )
    async def healthz() -> Health:
        return Health(status="ok")

    @application.get(
        "/readyz",
        response_model=Readiness,
        tags=["operations"],
        summary="Every configured dependency reachable (database, storage, Redis)",
        description="Who may call it: anyone (load balancers, orchestrators). 200 when the database, "
        "the storage backend and, when configured, Redis answer; 503 otherwise. It recovers by itself "
        "once the dependency is back.",
        responses={503: {"model": Readiness, "description": "A dependency is down"}},
        openapi_extra={"x-access": "public"},
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
        current = get_settings()
        if current.redis_url:
            try:
                _ping_redis(current.redis_url, current.redis_socket_timeout_seconds)
                checks["redis"] = "ok"
            except Exception as exc:
                logger.warning("readiness: redis unreachable", extra={"error": str(exc)[:200]})
                checks["redis"] = "unreachable"
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
        openapi_extra={"x-access": "public"},
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
        rules=body_rules(settings),
        authenticate=authenticate_headers,
    )
    application.add_middleware(OptionsMiddleware, application=application)
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
