from __future__ import annotations

from app.errors import Forbidden, Unprocessable


class BadRange(Unprocessable):
    code = "invalid_range"


class NotAllowed(Forbidden):
    code = "analytics_forbidden"
