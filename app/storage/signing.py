"""Signed playback tokens: a keyed MAC over (object prefix, expiry), checked by the media route.

A token grants read access to every object under one prefix (a clip's ``clips/<id>/``) until it
expires, the way a CloudFront signed cookie or a Mux signed playback id covers a whole stream: the
player carries it from the master playlist to every variant playlist, segment and sprite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def _key(secret: str) -> bytes:
    return hashlib.blake2b(secret.encode(), digest_size=32, person=b"clipshop-media").digest()


def _mac(secret: str, prefix: str, expires_at: int) -> bytes:
    message = f"{prefix}\n{expires_at}".encode()
    return hashlib.blake2b(message, key=_key(secret), digest_size=16).digest()


def sign_prefix(secret: str, prefix: str, ttl_seconds: int, now: float | None = None) -> str:
    """A URL-safe token for ``prefix`` valid ``ttl_seconds`` from now."""
    expires_at = int(now if now is not None else time.time()) + ttl_seconds
    mac = base64.urlsafe_b64encode(_mac(secret, prefix, expires_at)).rstrip(b"=").decode()
    return f"{expires_at}.{mac}"


def token_expiry(token: str) -> int | None:
    head, _, _ = token.partition(".")
    return int(head) if head.isdigit() and len(head) <= 12 else None


def verify_prefix(secret: str, prefix: str, token: str, now: float | None = None) -> bool:
    """True when ``token`` was signed for ``prefix`` and has not expired."""
    expires_at = token_expiry(token)
    if expires_at is None or len(token) > 64:
        return False
    if expires_at < (now if now is not None else time.time()):
        return False
    _, _, mac = token.partition(".")
    try:
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    except ValueError:
        return False
    return hmac.compare_digest(given, _mac(secret, prefix, expires_at))
