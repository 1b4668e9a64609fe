"""The feed's viewer lookup: the same checks as ``OptionalUser``, cached for a few seconds.

``GET /v1/feed`` is the hottest route: the access token is verified on every request (signature,
expiry, audience), while the database check that the account and its sign-in session are still
live is cached per session id for ``AUTH_CACHE_SECONDS`` (so a logout takes effect on the feed
within that time; every other route checks on each request). A token that verified is remembered
(by its exact text) until it expires, so a client swiping pages pays the signature check once.
"""

from __future__ import annotations

import threading
import time
import uuid

from fastapi import Request

from app.accounts.exceptions import InvalidToken
from app.accounts.security import read_access_token, sign_in_is_live_by_id
from app.feed.runtime import read_engine

AUTH_CACHE_SECONDS = 5.0
_cache: dict[uuid.UUID, tuple[float, uuid.UUID | None]] = {}
# token text -> (expiry as a unix time, user id, sign-in session id) of a token that verified
_tokens: dict[str, tuple[float, uuid.UUID, uuid.UUID]] = {}
_lock = threading.Lock()


def _live_user(session_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID | None:
    with read_engine().connect() as connection:  # no ORM session: one statement
        live = sign_in_is_live_by_id(connection, user_id, session_id)
        return user_id if live else None


def _verify(token: str) -> tuple[uuid.UUID, uuid.UUID]:
    claims = read_access_token(token)
    with _lock:
        if len(_tokens) > 100_000:
            _tokens.clear()
        _tokens[token] = (claims.expires_at, claims.user_id, claims.session_id)
    return claims.user_id, claims.session_id


def feed_viewer(request: Request) -> uuid.UUID | None:
    return viewer_from_header(request.headers.get("authorization"))


def viewer_from_header(header: str | None) -> uuid.UUID | None:
    """The signed-in viewer of an ``Authorization`` header (``None``: anonymous)."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    known = _tokens.get(token)
    if known is not None and known[0] > time.time():
        _exp, user_id, session_id = known
    else:
        user_id, session_id = _verify(token)
    now = time.monotonic()
    hit = _cache.get(session_id)
    if hit is None or hit[0] < now:
        live = _live_user(session_id, user_id)
        with _lock:
            if len(_cache) > 200_000:
                _cache.clear()
            _cache[session_id] = (now + AUTH_CACHE_SECONDS, live)
        hit = _cache[session_id]
    if hit[1] != user_id:
        raise InvalidToken("This session has been signed out")
    return user_id
