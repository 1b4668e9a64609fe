"""The feed's viewer lookup: the same checks as ``OptionalUser``, cached for a few seconds.

``GET /v1/feed`` is the hottest route: the access token is verified on every request (signature,
expiry, audience), while the database check that the account and its sign-in session are still
live is cached per session id for ``AUTH_CACHE_SECONDS`` (so a logout takes effect on the feed
within that time; every other route checks on each request). A token that verified is remembered
(by its exact text) until it expires, so a client swiping pages pays the signature check once.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
import uuid
from datetime import datetime
from functools import lru_cache

from fastapi import Request

from app.accounts.exceptions import InvalidToken
from app.accounts.security import account_facts_by_id, read_access_token, sign_in_is_live_by_id
from app.config import get_settings
from app.feed.runtime import read_engine
from app.feed.writer import EventContext

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


# ------------------------------------------------------------------ who sent a batch of events
# An account's kind and creation time, read once a minute per account (a guest that signs up
# becomes a registered account: seen within that time).
ACCOUNT_CACHE_SECONDS = 60.0
_accounts: dict[uuid.UUID, tuple[float, bool | None, datetime | None]] = {}
# ``X-Device-Id``: an opaque id the app keeps per installation; anything else is ignored
_DEVICE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")


def _account(user_id: uuid.UUID) -> tuple[bool | None, datetime | None]:
    now = time.monotonic()
    hit = _accounts.get(user_id)
    if hit is None or hit[0] < now:
        with read_engine().connect() as connection:
            facts = account_facts_by_id(connection, user_id)
        guest, created = facts if facts is not None else (None, None)
        with _lock:
            if len(_accounts) > 200_000:
                _accounts.clear()
            _accounts[user_id] = hit = (now + ACCOUNT_CACHE_SECONDS, guest, created)
    return hit[1], hit[2]


@lru_cache(maxsize=1)
def _trusted(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


@lru_cache(maxsize=4096)
def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _is_trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted(proxies))


def client_ip(request: Request) -> str | None:
    """The client's address: the peer's, or, when the peer is a trusted proxy
    (``CLIPSHOP_ANALYTICS_TRUSTED_PROXIES``), the last address of ``X-Forwarded-For`` that is
    not one of them (a client can put anything in front of that header, not behind it)."""
    peer = request.client.host if request.client else None
    if peer is not None and not _is_address(peer):
        peer = None
    proxies = tuple(get_settings().analytics_trusted_proxies)
    if peer is None or not proxies or not _is_trusted(peer, proxies):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _is_trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # not an address: the header is not to be trusted
    return peer


def sender_context(request: Request, user_id: uuid.UUID) -> EventContext:
    """What is recorded with each event of a batch for the authenticity checks."""
    device = request.headers.get("x-device-id")
    if device is not None and not _DEVICE_ID.match(device):
        device = None
    guest, created = _account(user_id)
    return EventContext(device, client_ip(request), guest, created)
