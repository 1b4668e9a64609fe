"""Keyset cursors for list routes: ``?cursor=&limit=`` -> ``{"items": [...], "next_cursor": ...}``.

A cursor is the sort key of the last item served (opaque base64url JSON): the next page starts
strictly after it, so items inserted meanwhile never shift a page (unlike offsets).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from app.errors import BadRequest


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


def encode_cursor(*key: Any) -> str:
    raw = json.dumps([str(part) if not isinstance(part, int | float) else part for part in key])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, parts: int) -> list[Any] | None:
    """The key of ``cursor`` (``parts`` values), ``None`` without one; 400 when it is not ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("The cursor is not valid; start again without one") from None
    if not isinstance(key, list) or len(key) != parts:
        raise InvalidCursor("The cursor is not valid; start again without one")
    return key
