"""Serves the built web client (``web/`` sources, built into ``app/web/dist`` by
``scripts/bootstrap.sh``) and the demo payment route.

- ``GET /`` and ``GET /app/...``: the single-page app's HTML shell (revalidated on every load, so a
  new build is picked up at once: ``ETag``, 304); a clear 503 page when the client has not been built.
- ``GET /app/assets/{name}``: the hashed bundles, cached for a year.

Both are sent gzip-compressed when the browser accepts it (the build writes a ``.gz`` beside each
file) and answered from memory while the file on disk is unchanged: they are on the critical path
of the feed's first frame, where a thread hop and a file open per request are measurable.
- ``POST /v1/demo/orders/{id}/pay``: development only; signs and applies the same payment webhook
  a payment provider would send, so the demo's buy button completes a real checkout.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import uuid
from pathlib import Path
from stat import S_ISREG
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from app.accounts.dependencies import CurrentUser
from app.catalog.dependencies import unit_of_work_in_this_thread
from app.commerce import service as commerce_service
from app.config import get_settings
from app.db import SessionDep
from app.errors import problem_responses
from app.web.exceptions import DemoDisabled
from app.web.schemas import DemoPaymentRead

router = APIRouter()
# the feed's fast path and the API come first; the client's catch-all routes last
ROUTER_PRIORITY = 1000

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>ClipShop</title><meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>ClipShop is running, but its web client is not built</h1>
<p>Build it with <code>scripts/bootstrap.sh</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>),
then reload this page. The API is available meanwhile: <a href="/docs">/docs</a>.</p>
</body></html>"""

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".map": "application/json"}


def dist_dir() -> Path:
    return get_settings().web_dist_dir


# path -> (mtime_ns, size, body, etag): a rebuild writes new files, which are read again
_files: dict[Path, tuple[int, int, bytes, str]] = {}
_MAX_FILES = 512


def _cached(path: Path) -> tuple[bytes, str] | Literal[False] | None:
    """The file's bytes and ETag from memory; None: no such file; False: not read yet or changed."""
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if not S_ISREG(stat.st_mode):
        return None
    hit = _files.get(path)
    if hit is not None and hit[0] == stat.st_mtime_ns and hit[1] == stat.st_size:
        return hit[2], hit[3]
    return False


def _load(path: Path) -> tuple[bytes, str] | None:
    try:
        stat = path.stat()
        body = path.read_bytes()
    except (OSError, ValueError):
        return None
    etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    if len(_files) >= _MAX_FILES:
        _files.clear()
    _files[path] = (stat.st_mtime_ns, stat.st_size, body, etag)
    return body, etag


async def _read(path: Path) -> tuple[bytes, str] | None:
    found = _cached(path)
    if found is False:  # first request after a (re)build: read off the event loop
        return await run_in_threadpool(_load, path)
    return found


def _gzip_accepted(request: Request) -> bool:
    return "gzip" in (request.headers.get("accept-encoding") or "")


async def _send(request: Request, path: Path, media_type: str, cache_control: str) -> Response | None:
    """``path`` (or its ``.gz`` twin when the browser accepts gzip) with an ETag; 304 when the
    browser has it already. None: no such file."""
    found = await _read(path.with_name(path.name + ".gz")) if _gzip_accepted(request) else None
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if found is not None:
        headers["Content-Encoding"] = "gzip"
    else:
        found = await _read(path)
        if found is None:
            return None
    body, etag = found
    headers["ETag"] = etag
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def _shell(request: Request) -> Response:
    page = await _send(request, dist_dir() / "index.html", "text/html; charset=utf-8", "no-cache")
    if page is None:
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
    return page


@router.get("/", include_in_schema=False)
async def web_home(request: Request) -> Response:
    return await _shell(request)


@router.get("/app/assets/{name}", include_in_schema=False)
async def web_asset(name: str, request: Request) -> Response:
    return await _asset(name, request)


@router.get("/app", include_in_schema=False)
@router.get("/app/{path:path}", include_in_schema=False)
async def web_app(request: Request, path: str = "") -> Response:
    if path.startswith("assets/"):
        return await _asset(path.removeprefix("assets/"), request)
    return await _shell(request)


async def _asset(name: str, request: Request) -> Response:
    # Flat folder of generated names only: no separators, no dot-files, so no path can escape it.
    if not name or "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        return Response(status_code=404)
    path = dist_dir() / "assets" / name
    media_type = ASSET_TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    hashed = "-" in path.stem
    cache_control = "public, max-age=31536000, immutable" if hashed else "no-cache"
    return await _send(request, path, media_type, cache_control) or Response(status_code=404)


@router.post(
    "/v1/demo/orders/{order_id}/pay",
    response_model=DemoPaymentRead,
    operation_id="web_demo_pay_order",
    tags=["demo"],
    summary="Demo only: pay an order through the signed payment webhook",
    description=(
        "Who may call it: the order's buyer, and only when demo payments are enabled "
        "(`CLIPSHOP_WEB_DEMO_PAYMENTS`, on by default in the development environment only; "
        "elsewhere 404 `demo_disabled`). Builds the `payment.succeeded` event a payment provider "
        "would send for the order's total, signs it with the webhook secret and applies it "
        "exactly as `POST /v1/payments/webhook` does. Problem codes: `demo_disabled`, "
        "`order_not_found`, `not_authenticated`."
    ),
    responses={
        **problem_responses(401, 404),
        200: {"content": {"application/json": {"example": {"order_id": "7f1c...", "outcome": "paid"}}}},
    },
)
def demo_pay_order(order_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> DemoPaymentRead:
    if not get_settings().web_demo_payments_enabled:
        raise DemoDisabled("Demo payments are disabled on this server")
    with unit_of_work_in_this_thread(session):
        order = commerce_service.get_order_for(session, order_id, user)
        body = json.dumps(
            {
                "id": f"evt_demo_{uuid.uuid4().hex}",
                "type": "payment.succeeded",
                "data": {
                    "order_id": str(order.id),
                    "amount_minor": order.total_minor,
                    "payment_id": f"pay_demo_{uuid.uuid4().hex[:12]}",
                },
            }
        ).encode()
        signature = commerce_service.sign(body, get_settings().payment_webhook_secret)
        outcome, _duplicate = commerce_service.handle_webhook(session, body, signature)
    return DemoPaymentRead(order_id=order_id, outcome=outcome)
