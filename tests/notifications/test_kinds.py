"""The inbox kinds and webhook event types the API documents are exactly the ones the code sends."""

from __future__ import annotations

import ast
import pathlib
from typing import Any

import pytest

import app as app_package
from app.creators import service as creators_service
from app.notifications.models import NotificationKind
from app.notifications.service import WEBHOOK_EVENT_TYPES, emit_event, notify

APP_DIR = pathlib.Path(app_package.__file__).parent


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    """Every call to a function called ``name`` (plain or as an attribute) in the app's sources."""
    found = []
    for path in sorted(APP_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    found.append((f"{path.relative_to(APP_DIR)}:{node.lineno}", node))
    return found


def _argument(call: ast.Call, keyword: str) -> ast.expr:
    return next(k.value for k in call.keywords if k.arg == keyword)


def _strings(node: ast.expr) -> list[str]:
    """The string constants an argument can be (``"a"``, ``"a" if x else "b"``)."""
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _kind_members(node: ast.expr) -> list[str]:
    """``NotificationKind.x`` attributes an argument can be."""
    return [
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name | ast.Attribute)
        and (n.value.id if isinstance(n.value, ast.Name) else n.value.attr) == "NotificationKind"
    ]


def _schema_kinds(client: Any) -> set[str]:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    kind = components["NotificationRead"]["properties"]["kind"]
    if "$ref" in kind:
        kind = components[kind["$ref"].rsplit("/", 1)[1]]
    elif "allOf" in kind:
        kind = components[kind["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    return set(kind["enum"])


def test_the_documented_kinds_are_the_enum(client: Any) -> None:
    assert _schema_kinds(client) == {k.value for k in NotificationKind}


def test_every_kind_the_code_writes_is_documented(client: Any) -> None:
    documented = _schema_kinds(client)
    # notifications' notify(session, user_id=, kind=, ...), not e.g. a Condition's notify()
    notify_calls = [(w, c) for w, c in _calls("notify") if any(k.arg == "user_id" for k in c.keywords)]
    assert len(notify_calls) >= 5, notify_calls  # the scan finds the call sites
    for where, call in notify_calls:
        kind = _argument(call, "kind")
        members = _kind_members(kind)
        if members:
            assert set(members) <= documented, where
        elif isinstance(kind, ast.Call) and getattr(kind.func, "id", None) == "inbox_kind":
            continue  # the programme's events, checked below
        else:
            pytest.fail(f"{where}: notify(kind=...) is neither a NotificationKind member nor inbox_kind()")
    # The creator programme turns its events into inbox kinds.
    for event_type in creators_service.INBOX_TITLES:
        assert creators_service.inbox_kind(event_type).value in documented


def test_every_event_type_the_code_sends_can_be_subscribed_to(client: Any, make_user: Any) -> None:
    sent: set[str] = set()
    for function in ("emit_event", "_announce"):
        for where, call in _calls(function):
            if (
                function == "emit_event"
                and where.startswith("notifications/service.py")
                and not _strings(_argument(call, "event_type"))
            ):
                continue  # _announce's own pass-through
            strings = _strings(_argument(call, "event_type"))
            assert strings or function == "emit_event", where
            sent.update(strings)
    assert {"order.paid", "clip.ready", "commission.pending", "payout.failed"} <= sent
    assert sent <= set(WEBHOOK_EVENT_TYPES)
    assert set(creators_service.INBOX_TITLES) <= set(WEBHOOK_EVENT_TYPES)
    _, creator = make_user("creator")
    listed = client.get("/v1/me/webhooks/event-types", headers=creator).json()["event_types"]
    assert set(listed) == set(WEBHOOK_EVENT_TYPES)


def test_an_unknown_kind_or_event_type_is_refused() -> None:
    import uuid

    with pytest.raises(ValueError):
        notify(None, user_id=uuid.uuid4(), kind="commission_earned", title="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        emit_event(None, user_id=uuid.uuid4(), event_type="commission.earned", payload={})  # type: ignore[arg-type]
