"""Inbox and outbound webhooks, delivered to a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver:
    """A webhook receiver on 127.0.0.1: answers the queued status codes (then 200), records
    every request (headers and body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(f"status {status}".encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def quick_retries(settings: Any) -> Iterator[None]:
    before = settings.webhook_retry_schedule_seconds
    settings.webhook_retry_schedule_seconds = [0.2, 0.4]
    yield
    settings.webhook_retry_schedule_seconds = before


def _wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_signed_delivery_retries_with_backoff_log_and_redelivery(
    client: Any, make_user: Any, receiver: Receiver, quick_retries: None
) -> None:
    from app.notifications import service

    _, creator_h = make_user("creator")
    r = client.post(
        "/v1/me/webhooks", json={"url": receiver.url, "event_types": ["webhook.test", "clip.ready"]}, headers=creator_h
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()
    assert endpoint["secret"].startswith("whsec_")
    receiver.statuses = [500, 503]  # two failures, then the third attempt succeeds

    delivery = client.post(f"/v1/me/webhooks/{endpoint['id']}/test", headers=creator_h).json()
    _wait(lambda: len(receiver.requests) == 3)
    assert len(receiver.requests) == 3
    ids = {h["webhook-id"] for h, _ in receiver.requests}
    assert ids == {delivery["message_id"]}  # the same message each time
    for headers, body in receiver.requests:
        assert service.verify(endpoint["secret"], headers, body)
        assert not service.verify(endpoint["secret"], headers, body + b" ")
        assert not service.verify("whsec_" + "A" * 43 + "=", headers, body)
    payload = json.loads(receiver.requests[0][1])
    assert payload["type"] == "webhook.test" and payload["id"] == delivery["message_id"]
    stamps = [int(h["webhook-timestamp"]) for h, _ in receiver.requests]
    assert stamps == sorted(stamps)

    _wait(lambda: client.get(f"/v1/me/webhooks/{endpoint['id']}/deliveries/{delivery['id']}", headers=creator_h).json()["status"] == "succeeded")
    detail = client.get(f"/v1/me/webhooks/{endpoint['id']}/deliveries/{delivery['id']}", headers=creator_h).json()
    assert detail["attempts"] == 3 and [a["status_code"] for a in detail["log"]] == [500, 503, 200]
    assert detail["log"][0]["response_body"] == "status 500"
    gaps = [
        (detail_time(detail["log"][i + 1]) - detail_time(detail["log"][i])).total_seconds() for i in range(2)
    ]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # the backoff schedule

    redo = client.post(
        f"/v1/me/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver", headers=creator_h
    )
    assert redo.status_code == 202 and redo.json()["status"] == "pending"
    _wait(lambda: len(receiver.requests) == 4)
    assert receiver.requests[3][0]["webhook-id"] == delivery["message_id"]
    assert receiver.requests[3][1] == receiver.requests[0][1]  # the same bytes

    page = client.get(f"/v1/me/webhooks/{endpoint['id']}/deliveries", headers=creator_h).json()
    assert [d["id"] for d in page["items"]] == [delivery["id"]]
    _, stranger_h = make_user("creator")
    assert client.get(f"/v1/me/webhooks/{endpoint['id']}/deliveries", headers=stranger_h).status_code == 404


def detail_time(attempt: dict[str, Any]) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(attempt["attempted_at"])


def test_retries_give_up_and_overdue_deliveries_are_swept(
    client: Any, make_user: Any, receiver: Receiver, settings: Any, monkeypatch: Any
) -> None:
    from app.db import session_scope, utcnow
    from app.notifications import service, tasks
    from app.notifications.models import WebhookDelivery

    # This test makes each attempt itself: the delivery job must not race it for the lease.
    enqueued: list[tuple[uuid.UUID, float]] = []
    monkeypatch.setattr(tasks, "enqueue_delivery", lambda _s, delivery_id, delay=0.0: enqueued.append((delivery_id, delay)))
    settings.webhook_retry_schedule_seconds, before = [60.0], settings.webhook_retry_schedule_seconds
    try:
        creator, creator_h = make_user("creator")
        endpoint = client.post("/v1/me/webhooks", json={"url": receiver.url}, headers=creator_h).json()
        receiver.statuses = [500, 500]
        with session_scope() as session:  # what the transcoding job calls when a clip is ready
            service.clip_processed(
                session, clip_id=uuid.uuid4(), creator_id=uuid.UUID(creator["id"]), status="failed", failure_code="too_long"
            )
            delivery_id = session.query(WebhookDelivery.id).scalar()
        assert enqueued == [(delivery_id, 0.0)]
        assert service.attempt_delivery(delivery_id) == "retry"
        assert enqueued[-1] == (delivery_id, 60.0)  # the next attempt is scheduled a minute ahead
        assert service.attempt_delivery(delivery_id) == "skipped"  # not due for a minute
        with session_scope() as session:
            assert service.due_deliveries(session) == []
            assert service.due_deliveries(session, now=utcnow() + timedelta(seconds=120)) == [delivery_id]
        assert service.attempt_delivery(delivery_id, now=utcnow() + timedelta(seconds=61)) == "failed"
        assert [json.loads(b)["type"] for _, b in receiver.requests] == ["clip.failed", "clip.failed"]
        detail = client.get(f"/v1/me/webhooks/{endpoint['id']}/deliveries/{delivery_id}", headers=creator_h).json()
        assert detail["status"] == "failed" and detail["next_attempt_at"] is None
        inbox = client.get("/v1/me/notifications", headers=creator_h).json()
        assert inbox["items"][0]["kind"] == "clip_failed" and inbox["items"][0]["data"]["failure_code"] == "too_long"
    finally:
        settings.webhook_retry_schedule_seconds = before
        from app import jobs

        if jobs.is_inprocess():  # the retry scheduled a minute ahead must not outlive the test
            jobs.broker.flush_all()


def test_order_paid_reaches_the_merchants_endpoint(client: Any, make_user: Any, receiver: Receiver) -> None:
    from app.notifications import service
    from tests.catalog.factories import one_sku
    from tests.commerce.helpers import checkout, webhook

    _, merchant_h = make_user("merchant")
    _, buyer_h = make_user("viewer")
    endpoint = client.post("/v1/merchant/webhooks", json={"url": receiver.url, "event_types": ["order.paid"]}, headers=merchant_h).json()
    assert client.get("/v1/merchant/webhooks", headers=buyer_h).status_code == 403
    assert client.post("/v1/me/webhooks", json={"url": receiver.url, "event_types": ["nope"]}, headers=buyer_h).json()["code"] == "unknown_event_type"
    sku = one_sku(client, merchant_h)
    order = checkout(client, buyer_h, [(sku["id"], 2)]).json()
    assert webhook(client, "payment.succeeded", order).status_code == 200
    _wait(lambda: len(receiver.requests) == 1)
    headers, body = receiver.requests[0]
    assert service.verify(endpoint["secret"], headers, body)
    event = json.loads(body)
    assert event["type"] == "order.paid" and event["data"]["order_id"] == order["id"]
    assert event["data"]["total_minor"] == order["total_minor"] and event["data"]["lines"][0]["quantity"] == 2


def test_inbox_pages_read_and_unread_and_new_followers(client: Any, make_user: Any) -> None:
    _creator, creator_h = make_user("creator")
    handle = client.get("/v1/me", headers=creator_h).json()["creator"]["handle"]
    fans = [make_user("viewer")[1] for _ in range(3)]
    for fan in fans:
        assert client.post(f"/v1/creators/{handle}/follow", headers=fan).status_code == 200
    client.delete(f"/v1/creators/{handle}/follow", headers=fans[0])
    client.post(f"/v1/creators/{handle}/follow", headers=fans[0])  # again: not a second notification

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/me/notifications", params=params, headers=creator_h).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3 and {n["kind"] for n in seen} == {"new_follower"} and page["unread_count"] == 3
    first = seen[0]["id"]
    assert client.post(f"/v1/me/notifications/{first}/read", headers=creator_h).json()["read"] is True
    unread = client.get("/v1/me/notifications", params={"unread": "true"}, headers=creator_h).json()
    assert unread["unread_count"] == 2 and first not in [n["id"] for n in unread["items"]]
    assert client.post(f"/v1/me/notifications/{first}/unread", headers=creator_h).json()["read"] is False
    assert client.post(f"/v1/me/notifications/{first}/read", headers=fans[1]).status_code == 404
    assert client.post("/v1/me/notifications/read-all", headers=creator_h).json() == {"marked_read": 3}


def test_private_addresses_are_refused_in_production() -> None:
    from app.config import get_settings
    from app.notifications import service
    from app.notifications.exceptions import InvalidWebhookUrl

    settings = get_settings()
    settings.webhook_allow_private_urls, before = False, settings.webhook_allow_private_urls
    try:
        for url in ("http://127.0.0.1:9/x", "http://10.0.0.8/x", "http://[::1]/x", "ftp://example.com/x", "http://u:p@example.com/"):
            with pytest.raises(InvalidWebhookUrl):
                service.check_url(url)
    finally:
        settings.webhook_allow_private_urls = before
