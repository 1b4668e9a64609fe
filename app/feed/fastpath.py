"""``GET /v1/feed`` served straight from ASGI, without FastAPI's routing and dependency layers.

The feed is the busiest route by far; routing a request through the matching of every mounted
route, dependency resolution and the exception middleware cost more than building most pages.
This middleware sits inside the service's own middleware (request id, metrics, access log, body
limit, CORS), so the feed keeps all of that, and answers well-formed feed requests itself: the
same code (``pages.build_page``), the same bytes and headers, and the same problem documents for
domain errors (401, 400 ``invalid_cursor``, ...) as the declared route in ``router.py``.

Anything unusual (a parameter that is not in its plain form, a repeated parameter, ``HEAD``)
falls through to the declared route, which answers it — including query validation problems in
the standard shape. The declared route stays the documented contract (OpenAPI).
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import DomainError, domain_error_response, is_unavailable_error, unavailable_response
from app.feed import pages
from app.feed.dependencies import viewer_from_header
from app.feed.runtime import Reads, ready_runtime

logger = logging.getLogger("clipshop.feed")

PATH = "/v1/feed"
_ROUTE = SimpleNamespace(path=PATH)  # what the metrics and access log read as the route template
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,200}$")  # the cursor alphabet (base64url), at most 200
_LIMIT = re.compile(r"^[1-9][0-9]?$")
_HEADERS = [(b"content-type", b"application/json")]


def parse_query(raw: bytes) -> tuple[str | None, int] | None:
    """``(cursor, limit)`` of a plain query string, or ``None`` to leave it to the route."""
    cursor: str | None = None
    limit = 10
    seen: set[str] = set()
    if not raw:
        return cursor, limit
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if "%" in name or "+" in name or name in seen:
            return None
        seen.add(name)
        if name == "cursor":
            if not sep or not _CURSOR.match(value):
                return None
            cursor = value
        elif name == "limit":  # other parameters are ignored, as by the route
            if not _LIMIT.match(value) or int(value) > 50:
                return None
            limit = int(value)
    return cursor, limit


class FeedFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        query = parse_query(scope.get("query_string", b""))
        if query is None:
            await self.app(scope, receive, send)
            return
        cursor, limit = query
        scope["route"] = _ROUTE
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        db = Reads()
        try:
            user_id = viewer_from_header(header)
            await ready_runtime()  # a cold process waits for its engine (off the event loop)
            body = pages.build_page(db, user_id, cursor, limit)
        except DomainError as exc:
            await domain_error_response(Request(scope, receive), exc)(scope, receive, send)
            return
        except Exception as exc:
            # the database or the session store (Redis) is down: 503 with Retry-After, not 500
            dependency = is_unavailable_error(exc)
            if dependency is None:
                raise
            logger.warning(
                "feed: dependency unavailable", extra={"dependency": dependency, "error": str(exc)[:300]}
            )
            await unavailable_response(Request(scope, receive), dependency)(scope, receive, send)
            return
        finally:
            db.close()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
