"""compose.yaml: what an operator needs to run the stack safely."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "compose.yaml"


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_containers_without_http_do_not_inherit_the_api_healthcheck():
    services = _services()
    for name in ("worker", "migrate", "admin", "seed-demo"):
        assert services[name]["healthcheck"] == {"disable": True}, name
    assert "healthcheck" not in services["api"]  # the image's GET /healthz applies to the API


def test_images_are_pinned():
    for name, service in _services().items():
        image = service.get("image")
        if image is None:
            continue
        _, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"


def test_production_stack_requires_a_payment_webhook_secret():
    text = COMPOSE.read_text()
    assert re.search(r"CLIPSHOP_PAYMENT_WEBHOOK_SECRET: \$\{CLIPSHOP_PAYMENT_WEBHOOK_SECRET:\?", text)
    assert yaml.safe_load(text)["x-clipshop-env"]["CLIPSHOP_ENVIRONMENT"] == "production"


def test_admin_and_demo_steps_exist():
    services = _services()
    assert services["admin"]["command"][:2] == ["clipshop", "create-admin"]
    assert services["seed-demo"]["command"] == ["clipshop", "seed-demo"]
    assert "--profile setup run --rm admin" in COMPOSE.read_text()
