"""Who may call a route: declared on the route or inferred from its auth dependency.

Every route has an access rule, ``<base>`` or ``<base>+owner``:

| base | who |
| --- | --- |
| ``public`` | anyone, signed in or not |
| ``authenticated`` | any bearer token, guests included |
| ``registered`` | signed-up accounts (not guests) |
| ``creator`` / ``merchant`` | that role (admins pass role checks) |
| ``merchant_member`` | a merchant who belongs to an organisation |
| ``admin`` | operators |
| ``webhook_signature`` | no token: an HMAC signature header (payment provider) |

``+owner``: and only the owner of the resource named in the path (the clip's creator, the
product's organisation, the order's buyer...). Anyone else gets 403 or 404 and nothing changes.

The rule is inferred from the route's dependencies: ``OptionalUser`` → public, ``CurrentUser`` →
authenticated, ``RegisteredUser`` → registered, ``CreatorUser`` / ``MerchantUser`` / ``AdminUser``,
organisation dependencies → merchant_member, ``owned_*`` dependencies → +owner (each dependency is
tagged with :func:`access_rule`). A route whose rule cannot be inferred (no auth dependency,
ownership checked in the service, a signature instead of a token) declares it:
``@router.get(..., openapi_extra={"x-access": "public"})``. The declaration is also published
in the OpenAPI document. ``tests/test_role_matrix.py`` fails for a route without a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

ACCESS_KEY = "x-access"
OWNER = "owner"
# weakest first: a route depending on several is governed by the strictest
BASES = (
    "public",
    "authenticated",
    "registered",
    "creator",
    "merchant",
    "merchant_member",
    "admin",
    "webhook_signature",
)
_ATTRIBUTE = "__clipshop_access__"
# Rules of routes that cannot carry the marker themselves, by (method, path template). Prefer
# ``openapi_extra={"x-access": ...}`` on the route.
DECLARED: dict[tuple[str, str], str] = {
    # media files: public renditions (what is private is decided inside the route)
    ("GET", "/v1/media/{key:path}"): "public",
    ("HEAD", "/v1/media/{key:path}"): "public",
    # public reads: the catalogue browser, creator profiles, storefronts, idea lists, share links,
    # suggestions (what is private is decided inside each route, by visibility and moderation)
    ("GET", "/v1/products"): "public",
    ("GET", "/v1/creators/{handle}"): "public",
    ("GET", "/v1/creators/{handle}/clips"): "public",
    ("GET", "/v1/creators/{handle}/storefront"): "public",
    ("GET", "/v1/creators/{handle}/idea-lists"): "public",
    ("GET", "/v1/idea-lists/{idea_list_id}"): "public",
    ("GET", "/v1/search/suggest"): "public",
    ("GET", "/s/{code}"): "public",
    # analytics of one clip: its creator, merchants whose products it carries, admins
    ("GET", "/v1/analytics/clips/{clip_id}"): "authenticated+owner",
    # a creator's figures and authenticity: the creator themself, any merchant, admins
    ("GET", "/v1/analytics/creators/{handle}"): "merchant",
    ("GET", "/v1/analytics/creators/{handle}/authenticity"): "merchant",
    # a merchant organisation's webhooks and poll results: members only (an admin has no organisation)
    ("GET", "/v1/merchant/webhooks/event-types"): "merchant_member",
    ("GET", "/v1/merchant/webhooks"): "merchant_member",
    ("GET", "/v1/merchant/webhooks/{endpoint_id}"): "merchant_member",
    ("GET", "/v1/merchant/webhooks/{endpoint_id}/deliveries"): "merchant_member",
    ("GET", "/v1/merchant/webhooks/{endpoint_id}/deliveries/{delivery_id}"): "merchant_member",
    ("GET", "/v1/merchant/polls"): "merchant_member",
    # tag suggestions: merchants (for their own products), and the clip's own creator
    ("GET", "/v1/clips/{clip_id}/tag-suggestions"): "merchant_member",
    # the web client's pages and assets (the API calls they make carry their own rules)
    ("GET", "/"): "public",
    ("GET", "/app"): "public",
    ("GET", "/app/{path:path}"): "public",
    ("GET", "/app/assets/{name}"): "public",
}

F = TypeVar("F", bound=Callable[..., Any])


def access_rule(rule: str) -> Callable[[F], F]:
    """Tags an auth dependency with the access it grants (a base, or ``owner``)."""
    if rule not in BASES and rule != OWNER:
        raise ValueError(f"unknown access rule {rule!r}")

    def tag(func: F) -> F:
        setattr(func, _ATTRIBUTE, rule)
        return func

    return tag


def is_valid(rule: str) -> bool:
    base, _, qualifier = rule.partition("+")
    return base in BASES and qualifier in ("", OWNER)


def _dependency_tags(dependant: Any) -> Iterator[str]:
    for sub in getattr(dependant, "dependencies", ()):
        tag = getattr(sub.call, _ATTRIBUTE, None)
        if isinstance(tag, str):
            yield tag
        yield from _dependency_tags(sub)


def route_access(route: Any) -> str | None:
    """The access rule of an ``APIRoute``: its ``x-access`` declaration, else inferred from its
    dependencies; None when it has neither."""
    declared = (getattr(route, "openapi_extra", None) or {}).get(ACCESS_KEY)
    if isinstance(declared, str):
        return declared
    for method in getattr(route, "methods", None) or ():
        if (method, getattr(route, "path", "")) in DECLARED:
            return DECLARED[(method, route.path)]
    tags = set(_dependency_tags(getattr(route, "dependant", None)))
    bases = [base for base in BASES if base in tags]
    if not bases:
        return None
    rule = bases[-1]
    return f"{rule}+{OWNER}" if OWNER in tags else rule


def rules_by_operation(routes: Any) -> dict[tuple[str, str], str]:
    """``{(method in lower case, path template): rule}`` of every API route."""
    from fastapi.routing import APIRoute, iter_route_contexts

    rules: dict[tuple[str, str], str] = {}
    for context in iter_route_contexts(routes):
        route = context.route
        if isinstance(route, APIRoute):
            rule = route_access(route)
            if rule is not None:
                for method in route.methods or ():
                    rules[(method.lower(), route.path_format)] = rule
    return rules


def publish(schema: dict[str, Any], routes: Any) -> None:
    """Writes every operation's rule into the OpenAPI document as ``x-access``."""
    from fastapi.routing import APIRoute, iter_route_contexts

    for context in iter_route_contexts(routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        rule = route_access(route)
        path_item = schema.get("paths", {}).get(route.path_format)
        if rule is None or path_item is None:
            continue
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if operation is not None:
                operation[ACCESS_KEY] = rule
