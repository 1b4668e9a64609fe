"""Serves the built web client (``web/`` sources, built into ``app/web/dist`` by
``scripts/bootstrap.sh``) and the demo payment route.

- ``GET /`` and ``GET /app/...``: the single-page app's HTML shell (never cached, so a new build is
  picked up at once); a clear 503 page when the client has not been built.
- ``GET /app/assets/{name}``: the hashed bundles, cached for a year, sent gzip-compressed when the
  browser accepts it (the build writes a ``.gz`` beside each file).
- ``POST /v1/demo/orders/{id}/pay``: development only; signs and applies the same payment webhook
  a payment provider would send, so the demo's buy button completes a real checkout.
"""

from __future__ import annotations

import json
import mimetypes
import uuid
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

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


def _shell() -> Response:
    index = dist_dir() / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/", include_in_schema=False)
def web_home() -> Response:
    return _shell()


@router.get("/app/assets/{name}", include_in_schema=False)
def web_asset(name: str, request: Request) -> Response:
    return _asset(name, request.headers.get("accept-encoding"))


@router.get("/app", include_in_schema=False)
@router.get("/app/{path:path}", include_in_schema=False)
def web_app(request: Request, path: str = "") -> Response:
    if path.startswith("assets/"):
        return _asset(path.removeprefix("assets/"), request.headers.get("accept-encoding"))
    return _shell()


def _asset(name: str, accept_encoding: str | None) -> Response:
    # Flat folder of generated names only: no separators, no dot-files, so no path can escape it.
    if not name or "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        return Response(status_code=404)
    folder = dist_dir() / "assets"
    path = folder / name
    if not path.is_file():
        return Response(status_code=404)
    suffix = path.suffix
    media_type = ASSET_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    hashed = "-" in path.stem
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable" if hashed else "no-cache",
        "Vary": "Accept-Encoding",
    }
    compressed = folder / f"{name}.gz"
    if accept_encoding and "gzip" in accept_encoding and compressed.is_file():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(compressed, media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


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
