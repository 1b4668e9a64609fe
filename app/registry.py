"""Discovery of the domain packages' routers, models and tasks."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import app as app_package


def domain_modules(name: str) -> list[ModuleType]:
    """``app/<domain>/<name>.py`` for every domain that has one, in domain-name order."""
    found = []
    for module in sorted(pkgutil.iter_modules(app_package.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        qualified = f"app.{module.name}.{name}"
        try:
            found.append(importlib.import_module(qualified))
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
    return found


def import_all_models() -> None:
    domain_modules("models")


def import_all_tasks() -> None:
    domain_modules("tasks")
