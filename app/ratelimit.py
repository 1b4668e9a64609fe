"""Rate limits per account and per client IP, answered with 429 and ``Retry-After``.

Limits are "<count>/<seconds>" per action and scope in ``Settings.rate_limits`` (keys
``"<action>:account"`` and ``"<action>:ip"``). Counting is a fixed window per key: in Redis
(``INCRBY`` + ``EXPIRE`` in one round trip, shared by every process) when ``CLIPSHOP_REDIS_URL`` is
set, in the process otherwise. When Redis cannot be reached the request is let through (and
logged): a limiter outage must not take the API down with it.

Routes use the dependency factory::

    @router.post("/v1/things", dependencies=[Depends(rate_limit("thing"))])

and services that count a variable amount (say, the likes in an event batch) call
:func:`check` directly.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from app.accounts.dependencies import oauth2_scheme
from app.accounts.security import read_access_token
from app.config import get_settings
from app.errors import DomainError, TooManyRequests

logger = logging.getLogger("clipshop.ratelimit")


class RateLimited(TooManyRequests):
    code = "rate_limited"


def parse_limit(spec: str) -> tuple[int, float]:
    """``"30/60"`` -> (30, 60.0)."""
    count, _, seconds = spec.partition("/")
    return int(count), float(seconds or 1)


class InProcessCounter:
    """Fixed windows in a dict (one process: the embedded mode and tests)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window index, count)
        self._lock = threading.Lock()

    def hit(self, key: str, window: float, cost: int, now: float) -> int:
        index = int(now // window)
        with self._lock:
            if len(self._counts) > 200_000:
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= index}
            seen_index, count = self._counts.get(key, (index, 0))
            if seen_index != index:
                count = 0
            count += cost
            self._counts[key] = (index, count)
            return count


class RedisCounter:
    def __init__(self, url: str, namespace: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._namespace = namespace

    def hit(self, key: str, window: float, cost: int, now: float) -> int:
        index = int(now // window)
        name = f"{self._namespace}:rl:{key}:{index}"
        pipe = self._redis.pipeline(transaction=False)
        pipe.incrby(name, cost)
        pipe.expire(name, math.ceil(window) + 1)
        count, _ = pipe.execute()
        return int(count)


class Limiter:
    def __init__(self, counter: InProcessCounter | RedisCounter, limits: dict[str, str]) -> None:
        self.counter = counter
        self.limits = {key: parse_limit(spec) for key, spec in limits.items()}

    def check(
        self,
        action: str,
        *,
        account: uuid.UUID | str | None = None,
        ip: str | None = None,
        cost: int = 1,
        now: float | None = None,
    ) -> None:
        """Count ``cost`` against the action's account and IP limits; raise :class:`RateLimited`
        (with the seconds until the window ends) when either is exceeded."""
        now = time.time() if now is None else now
        for scope, ident in (("account", account), ("ip", ip)):
            limit = self.limits.get(f"{action}:{scope}")
            if limit is None or ident is None or cost <= 0:
                continue
            count_limit, window = limit
            key = f"{action}:{scope}:{ident}"
            try:
                count = self.counter.hit(key, window, cost, now)
            except Exception:  # Redis unreachable: let the request through
                logger.warning("rate limiter unavailable", exc_info=True, extra={"action": action})
                return
            if count > count_limit:
                retry_after = max(1, math.ceil(window - (now % window)))
                error = RateLimited(
                    f"Too many {action} requests; retry in {retry_after} s",
                    retry_after=retry_after,
                    limit=count_limit,
                    window_seconds=window,
                    scope=scope,
                )
                error.headers = {"Retry-After": str(retry_after)}
                raise error


_limiter: Limiter | None = None
_limiter_lock = threading.Lock()


def get_limiter() -> Limiter | None:
    """The process's limiter, or ``None`` when rate limiting is off."""
    global _limiter
    settings = get_settings()
    if not settings.rate_limiting:
        return None
    if _limiter is None:
        with _limiter_lock:
            if _limiter is None:
                counter: InProcessCounter | RedisCounter = (
                    RedisCounter(settings.redis_url, settings.redis_namespace)
                    if settings.redis_url
                    else InProcessCounter()
                )
                _limiter = Limiter(counter, settings.rate_limits)
    return _limiter


def set_limiter(limiter: Limiter | None) -> None:
    """Replace the process's limiter (tests; ``None``: rebuilt from the settings on next use)."""
    global _limiter
    _limiter = limiter


def client_ip(request: Request) -> str | None:
    # behind a proxy, run uvicorn with --proxy-headers so that this is the client's address
    return request.client.host if request.client else None


def check(
    action: str,
    *,
    account: uuid.UUID | str | None = None,
    ip: str | None = None,
    cost: int = 1,
) -> None:
    limiter = get_limiter()
    if limiter is not None:
        limiter.check(action, account=account, ip=ip, cost=cost)


def rate_limit(action: str) -> Callable[..., Any]:
    """A route dependency counting one ``action`` per request, per account (when signed in) and
    per client IP; answers 429 ``rate_limited`` with ``Retry-After`` past either limit."""

    def dependency(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> None:
        # the account comes from the token's verified claims (no database read); a bad token is
        # the route's own business (counted by IP only here)
        account = None
        if token:
            try:
                account = read_access_token(token).user_id
            except DomainError:
                account = None
        check(action, account=account, ip=client_ip(request))

    dependency.__name__ = f"rate_limit_{action}"
    return dependency
