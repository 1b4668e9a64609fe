from __future__ import annotations

from app.errors import NotFound


class DemoDisabled(NotFound):
    code = "demo_disabled"
