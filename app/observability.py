"""Request ids, JSON logs, Prometheus metrics and the request-body limit.

All of it is plain ASGI middleware: the feed's hot path must not pay for ``BaseHTTPMiddleware``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import is_unavailable_error, problem_body, unavailable_response

REQUESTS = Counter("clipshop_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "clipshop_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

access_logger = logging.getLogger("clipshop.access")
# The current request's id, so every log line written while serving it carries the id.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class JsonFormatter(logging.Formatter):
    _RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in self._RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # library warnings (e.g. PyJWT's about the development secret's length) go through logging
    # too, so that every line on stderr is JSON
    logging.captureWarnings(True)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).handlers[:] = []
        logging.getLogger(noisy).propagate = False


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


async def send_problem(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: str, *, close: bool = False
) -> None:
    """Answer with a problem document straight from ASGI middleware (outside FastAPI's handlers)."""
    payload = json.dumps(problem_body(Request(scope, receive), status, code, detail)).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


# Request ids only need to be unique, not unguessable: drawn from a generator seeded once per
# process (and again in a forked child) rather than from os.urandom, a system call per request.
_ids = random.Random(os.urandom(16))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(16)))


def _new_request_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


class RequestContextMiddleware:
    """Assigns a request id (or keeps a sane incoming one), echoes it in ``X-Request-ID``,
    records metrics per route template and writes one access-log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)
        status_holder = [500]
        started = [False]
        start = time.perf_counter()
        header_value = request_id.encode()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", header_value)]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # Reaching here means no handler turned the error into a response: log it, answer
            # with a bare problem (never the exception text) and keep the request id. A
            # dependency that is down is a 503 with Retry-After, not a server bug.
            dependency = is_unavailable_error(exc)
            if dependency is not None:
                logging.getLogger("clipshop.errors").warning(
                    "dependency unavailable", extra={"dependency": dependency, "path": scope["path"]}
                )
                if not started[0]:
                    await unavailable_response(Request(scope, receive), dependency)(scope, receive, send_wrapper)
            else:
                logging.getLogger("clipshop.errors").exception(
                    "unhandled error", extra={"request_id": request_id, "path": scope["path"]}
                )
                if not started[0]:
                    await send_problem(
                        scope, receive, send_wrapper, 500, "internal_error", "An unexpected error occurred"
                    )
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status_holder[0])).inc()
            LATENCY.labels(method, route).observe(elapsed)
            current_request_id.reset(token)
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status_holder[0],
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )


@dataclass(frozen=True)
class BodyRule:
    """A route whose body may be larger than the ordinary limit: its own limit, and whether the
    caller must be authenticated before a byte of the body is read."""

    method: str
    pattern: re.Pattern[str]
    max_bytes: int
    authenticate: bool = True


# Checks the request's credentials from its headers alone (no body): returns the refusal to send
# (a 401 problem) or None. Wired by the application (the accounts domain owns tokens).
Authenticator = Callable[[Scope], Awaitable["Response | None"]]


class BodyLimitMiddleware:
    """Limits request bodies before they are read.

    Ordinary routes accept ``max_bytes``. Routes listed in ``rules`` (uploads, imports, images)
    have their own limit and, when the rule says so, the caller is authenticated from the headers
    first: an anonymous or badly signed request is refused with 401 without reading its body, and
    a declared ``Content-Length`` above the limit with 413. Bodies without a length are counted as
    they stream and cut off at the limit. Paths under ``exempt_prefixes`` enforce their own limits.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        exempt_prefixes: list[str],
        rules: list[BodyRule] | None = None,
        authenticate: Authenticator | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefixes = tuple(exempt_prefixes)
        self.rules = list(rules or [])
        self.authenticate = authenticate

    def _rule(self, scope: Scope) -> BodyRule | None:
        method = scope["method"]
        path = scope["path"]
        for rule in self.rules:
            if rule.method == method and rule.pattern.fullmatch(path):
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt_prefixes and scope["path"].startswith(self.exempt_prefixes)):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        rule = self._rule(scope) if self.rules else None
        if rule is not None:
            limit = rule.max_bytes
            if rule.authenticate and self.authenticate is not None:
                refusal = await self.authenticate(scope)
                if refusal is not None:
                    # nothing of the body was read: close the connection rather than drain it
                    refusal.headers["connection"] = "close"
                    await refusal(scope, receive, send)
                    return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await self._reject(scope, receive, send, limit)
                    return
                break

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._reject(scope, receive, send, limit)
        except Exception:
            if too_large and not response_started:
                await self._reject(scope, receive, send, limit)
            else:
                raise

    async def _reject(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await send_problem(
            scope,
            receive,
            send,
            413,
            "payload_too_large",
            f"The request body exceeds the limit of {limit} bytes",
            close=True,
        )


class _BodyTooLarge(BaseException):
    """Raised from ``receive``; a BaseException so that body parsers which turn any Exception
    into a 400 let it through to the middleware."""


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
