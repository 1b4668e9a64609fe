"""Demo data for a fresh install (``clipshop seed-demo``); safe to run more than once."""

from __future__ import annotations

from typing import Any

from app.accounts import service as accounts_service
from app.accounts.schemas import SignupRequest
from app.db import session_scope

DEMO_PASSWORD = "clipshop-demo"
DEMO_ACCOUNTS = [
    {"email": "viewer@demo.clipshop", "role": "viewer", "display_name": "Demo Viewer"},
    {
        "email": "creator@demo.clipshop",
        "role": "creator",
        "handle": "demo.creator",
        "display_name": "Demo Creator",
    },
    {"email": "lea.style@demo.clipshop", "role": "creator", "handle": "lea.style", "display_name": "Léa Style"},
    {"email": "sam.brews@demo.clipshop", "role": "creator", "handle": "sam.brews", "display_name": "Sam Brews"},
    {"email": "merchant@demo.clipshop", "role": "merchant", "organisation_name": "Demo Goods Co"},
]


def seed_demo() -> dict[str, Any]:
    summary: dict[str, Any] = {}
    with session_scope() as session:
        for account in DEMO_ACCOUNTS:
            if accounts_service.get_user_by_email(session, account["email"]) is None:
                accounts_service.signup(
                    session, SignupRequest(password=DEMO_PASSWORD, **account), current_user=None
                )
        admin = accounts_service.get_user_by_email(session, "admin@demo.clipshop")
        if admin is None:
            accounts_service.create_admin(session, "admin@demo.clipshop", DEMO_PASSWORD)
    summary["accounts"] = ", ".join(a["email"] for a in DEMO_ACCOUNTS) + ", admin@demo.clipshop"
    summary["password"] = DEMO_PASSWORD
    from app.clips.seed import seed_demo_clips

    summary.update(seed_demo_clips())
    # After the clips: the demo catalog also tags the demo creator's ready clips.
    from app.catalog.seed import seed_demo_catalog

    summary.update(seed_demo_catalog())
    # Last: comments and polls on the clips that are ready by now.
    from app.social.seed import seed_demo_social

    summary.update(seed_demo_social([a["email"] for a in DEMO_ACCOUNTS if a["role"] == "creator"]))
    return summary
