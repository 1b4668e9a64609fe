"""Feed sessions (a ranked list fixed when the session starts) and the signed cursor over them.

A session's list is only ever appended to (and unserved out-of-stock clips removed from its
unserved tail), so paging by offset never repeats or skips a clip while events arrive. Sessions
live in Redis when ``CLIPSHOP_REDIS_URL`` is set (any process can serve any cursor), else in the
process (an LRU with a TTL).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from app.config import get_settings
from app.errors import BadRequest


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class CursorExpired(BadRequest):
    code = "cursor_expired"


@dataclass
class FeedSession:
    id: str
    viewer: str
    items: list[uuid.UUID] = field(default_factory=list)  # clip ids, in serving order
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (code, text) per item
    served: int = 0  # items[:served] have been returned; never touched again
    # engine positions of ``items`` for the engine of generation ``gen`` (a cache of this
    # process, never stored: a session read from Redis computes them again)
    positions: list[int] = field(default_factory=list)
    gen: int = -1

    def dumps(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "viewer": self.viewer,
                "items": self.items,
                "reasons": self.reasons,
                "served": self.served,
            }
        )

    @classmethod
    def loads(cls, raw: bytes) -> FeedSession:
        d = orjson.loads(raw)
        items = [uuid.UUID(c) for c in d["items"]]
        return cls(d["id"], d["viewer"], items, [tuple(r) for r in d["reasons"]], d["served"])


class SessionStore(Protocol):
    def get(self, session_id: str) -> FeedSession | None: ...
    def put(self, fs: FeedSession) -> None: ...


class MemoryStore:
    def __init__(self, ttl: float, max_sessions: int = 100_000) -> None:
        self.ttl = ttl
        self.max = max_sessions
        self.data: OrderedDict[str, tuple[float, FeedSession]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, session_id: str) -> FeedSession | None:
        with self.lock:
            hit = self.data.get(session_id)
            if hit is None or hit[0] < time.monotonic():
                return None
            self.data.move_to_end(session_id)
            return hit[1]

    def put(self, fs: FeedSession) -> None:
        with self.lock:
            self.data[fs.id] = (time.monotonic() + self.ttl, fs)
            self.data.move_to_end(fs.id)
            while len(self.data) > self.max:
                self.data.popitem(last=False)


class RedisStore:
    def __init__(self, url: str, ttl: int) -> None:
        import redis

        timeout = get_settings().redis_socket_timeout_seconds
        # short timeouts: a Redis outage answers 503 at once instead of holding requests
        self.client: Any = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        self.ttl = ttl

    def get(self, session_id: str) -> FeedSession | None:
        raw = self.client.get(f"feed:session:{session_id}")
        return FeedSession.loads(raw) if raw else None

    def put(self, fs: FeedSession) -> None:
        self.client.set(f"feed:session:{fs.id}", fs.dumps(), ex=self.ttl)


_store: SessionStore | None = None


def get_store() -> SessionStore:
    global _store
    if _store is None:
        settings = get_settings()
        ttl = settings.feed_session_ttl_seconds
        _store = RedisStore(settings.redis_url, ttl) if settings.redis_url else MemoryStore(ttl)
    return _store


def reset_store() -> None:
    global _store
    _store = None


def new_session_id() -> str:
    return secrets.token_urlsafe(12)


# ---------------------------------------------------------------------------- cursor


@functools.lru_cache(maxsize=4)
def _cursor_key(secret: str) -> bytes:
    return hashlib.sha256(b"feed-cursor:" + secret.encode()).digest()


def _sign(payload: bytes) -> bytes:
    # keyed BLAKE2b is a MAC on its own (no HMAC construction needed), and a third of the cost
    return hashlib.blake2b(payload, key=_cursor_key(get_settings().secret_key), digest_size=16).digest()


def encode_cursor(session_id: str, offset: int, viewer: str) -> str:
    payload = f"{session_id}:{offset}".encode()
    sig = _sign(payload + b"|" + viewer.encode())
    return base64.urlsafe_b64encode(payload + b"." + sig).decode().rstrip("=")


def decode_cursor(cursor: str, viewer: str) -> tuple[str, int]:
    """The (session id, offset) a cursor points at; tampered or foreign cursors are refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, sig = raw[:-17], raw[-16:]
        if raw[-17:-16] != b".":
            raise ValueError("shape")
        session_id, offset_text = payload.decode().split(":")
        offset = int(offset_text)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor("The cursor is malformed")
    if not hmac.compare_digest(sig, _sign(payload + b"|" + viewer.encode())) or offset < 0:
        raise InvalidCursor("The cursor was not issued to this viewer or has been altered")
    return session_id, offset
