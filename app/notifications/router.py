"""Inbox routes (``/v1/me/notifications``) and webhook endpoint management for creators
(``/v1/me/webhooks``) and merchant organisations (``/v1/merchant/webhooks``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from app.accounts import service as accounts_service
from app.accounts.dependencies import CurrentUser, MerchantUser, RegisteredUser
from app.accounts.exceptions import RoleRequired
from app.db import SessionDep
from app.errors import problem_responses
from app.notifications import service
from app.notifications.models import (
    DeliveryStatus,
    Notification,
    NotificationKind,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.notifications.schemas import (
    NotificationPage,
    NotificationRead,
    ReadAllResult,
    WebhookAttemptRead,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEventTypes,
)

router = APIRouter()
inbox = APIRouter(prefix="/v1/me/notifications", tags=["notifications"])

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=500)]


def notification_read(row: Notification) -> NotificationRead:
    return NotificationRead(
        id=row.id,
        kind=NotificationKind(row.kind),
        title=row.title,
        body=row.body,
        data=row.data or {},
        read=row.read_at is not None,
        read_at=row.read_at,
        created_at=row.created_at,
    )


@inbox.get(
    "",
    operation_id="notifications_list",
    response_model=NotificationPage,
    responses=problem_responses(400, 401),
    summary="The caller's inbox, newest first",
    description="Any signed-in user (guests too). `unread=true` lists unread entries only. "
    "Problems: `invalid_cursor` (400), `not_authenticated` (401).",
)
def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 20,
    unread: bool = False,
) -> NotificationPage:
    rows, next_cursor, unread_count = service.list_notifications(
        session, user.id, cursor=cursor, limit=limit, unread_only=unread
    )
    return NotificationPage(
        items=[notification_read(r) for r in rows], next_cursor=next_cursor, unread_count=unread_count
    )


@inbox.post(
    "/read-all",
    operation_id="notifications_read_all",
    response_model=ReadAllResult,
    responses=problem_responses(401),
    summary="Mark every entry of the inbox read",
    description="Any signed-in user, on their own inbox.",
)
def read_all(user: CurrentUser, session: SessionDep) -> ReadAllResult:
    return ReadAllResult(marked_read=service.mark_all_read(session, user.id))


@inbox.post(
    "/{notification_id}/read",
    operation_id="notifications_mark_read",
    response_model=NotificationRead,
    responses=problem_responses(401, 404),
    summary="Mark one entry read",
    description="The inbox's owner. Problems: `notification_not_found` (404).",
)
def mark_read(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> NotificationRead:
    return notification_read(service.set_read(session, user.id, notification_id, True))


@inbox.post(
    "/{notification_id}/unread",
    operation_id="notifications_mark_unread",
    response_model=NotificationRead,
    responses=problem_responses(401, 404),
    summary="Mark one entry unread again",
    description="The inbox's owner. Problems: `notification_not_found` (404).",
)
def mark_unread(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> NotificationRead:
    return notification_read(service.set_read(session, user.id, notification_id, False))


# ---------------------------------------------------------------------------- webhooks


def endpoint_read(endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types or []),
        active=endpoint.active,
        secret=endpoint.secret,
        created_at=endpoint.created_at,
    )


def delivery_read(delivery: WebhookDelivery, attempts: list[Any] | None = None) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        id=delivery.id,
        message_id=delivery.message_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        payload=json.loads(delivery.body),
        log=[
            WebhookAttemptRead(
                attempted_at=a.attempted_at,
                status_code=a.status_code,
                duration_ms=a.duration_ms,
                error=a.error,
                response_body=a.response_body,
            )
            for a in attempts or []
        ],
    )


def _user_owner(user: RegisteredUser) -> service.WebhookOwner:
    return service.WebhookOwner(user_id=user.id)


def _organisation_owner(user: MerchantUser, session: SessionDep) -> service.WebhookOwner:
    organisation_id = accounts_service.get_merchant_organisation_id(session, user.id)
    if organisation_id is None:
        raise RoleRequired("You do not belong to a merchant organisation", code="no_organisation")
    return service.WebhookOwner(organisation_id=organisation_id)


def webhook_routes(
    prefix: str, owner_dep: Callable[..., service.WebhookOwner], name: str, who: str
) -> APIRouter:
    """The same endpoint-management routes for each kind of owner."""
    routes = APIRouter(prefix=prefix, tags=["webhooks"])

    @routes.get(
        "/event-types",
        operation_id=f"{name}_event_types",
        response_model=WebhookEventTypes,
        responses=problem_responses(401, 403),
        summary="Event types an endpoint can subscribe to",
        description=f"{who}.",
    )
    def event_types(_: service.WebhookOwner = Depends(owner_dep)) -> WebhookEventTypes:
        return WebhookEventTypes(event_types=list(service.WEBHOOK_EVENT_TYPES))

    @routes.post(
        "",
        operation_id=f"{name}_create",
        response_model=WebhookEndpointRead,
        status_code=status.HTTP_201_CREATED,
        responses=problem_responses(401, 403, 422),
        summary="Register a webhook endpoint",
        description=f"{who}. The answer carries the signing secret. Problems: "
        "`invalid_webhook_url`, `unknown_event_type` (422).",
    )
    def create(
        data: WebhookEndpointCreate, session: SessionDep, owner: service.WebhookOwner = Depends(owner_dep)
    ) -> WebhookEndpointRead:
        return endpoint_read(
            service.create_endpoint(
                session, owner, url=data.url, description=data.description, event_types=data.event_types
            )
        )

    @routes.get(
        "",
        operation_id=f"{name}_list",
        response_model=list[WebhookEndpointRead],
        responses=problem_responses(401, 403),
        summary="Registered webhook endpoints",
        description=f"{who}.",
    )
    def list_all(
        session: SessionDep, owner: service.WebhookOwner = Depends(owner_dep)
    ) -> list[WebhookEndpointRead]:
        return [endpoint_read(e) for e in service.list_endpoints(session, owner)]

    @routes.get(
        "/{endpoint_id}",
        operation_id=f"{name}_get",
        response_model=WebhookEndpointRead,
        responses=problem_responses(401, 403, 404),
        summary="One webhook endpoint",
        description=f"{who}. Problems: `webhook_endpoint_not_found` (404).",
    )
    def get_one(
        endpoint_id: uuid.UUID, session: SessionDep, owner: service.WebhookOwner = Depends(owner_dep)
    ) -> WebhookEndpointRead:
        return endpoint_read(service.get_endpoint(session, owner, endpoint_id))

    @routes.patch(
        "/{endpoint_id}",
        operation_id=f"{name}_update",
        response_model=WebhookEndpointRead,
        responses=problem_responses(401, 403, 404, 422),
        summary="Change an endpoint (URL, events, active) or rotate its secret",
        description=f"{who}. Problems: `webhook_endpoint_not_found` (404), `invalid_webhook_url`, "
        "`unknown_event_type` (422).",
    )
    def update_one(
        endpoint_id: uuid.UUID,
        data: WebhookEndpointUpdate,
        session: SessionDep,
        owner: service.WebhookOwner = Depends(owner_dep),
    ) -> WebhookEndpointRead:
        endpoint = service.get_endpoint(session, owner, endpoint_id)
        return endpoint_read(service.update_endpoint(session, endpoint, data.model_dump(exclude_unset=True)))

    @routes.delete(
        "/{endpoint_id}",
        operation_id=f"{name}_delete",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=problem_responses(401, 403, 404),
        summary="Remove an endpoint and its delivery log",
        description=f"{who}. Problems: `webhook_endpoint_not_found` (404).",
    )
    def delete_one(
        endpoint_id: uuid.UUID, session: SessionDep, owner: service.WebhookOwner = Depends(owner_dep)
    ) -> Response:
        service.delete_endpoint(session, service.get_endpoint(session, owner, endpoint_id))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @routes.post(
        "/{endpoint_id}/test",
        operation_id=f"{name}_send_test",
        response_model=WebhookDeliveryRead,
        status_code=status.HTTP_202_ACCEPTED,
        responses=problem_responses(401, 403, 404),
        summary="Send a `webhook.test` event to this endpoint",
        description=f"{who}. Problems: `webhook_endpoint_not_found` (404).",
    )
    def send_test(
        endpoint_id: uuid.UUID, session: SessionDep, owner: service.WebhookOwner = Depends(owner_dep)
    ) -> WebhookDeliveryRead:
        endpoint = service.get_endpoint(session, owner, endpoint_id)
        return delivery_read(service.send_test(session, endpoint))

    @routes.get(
        "/{endpoint_id}/deliveries",
        operation_id=f"{name}_list_deliveries",
        response_model=WebhookDeliveryPage,
        responses=problem_responses(400, 401, 403, 404),
        summary="The endpoint's delivery log, newest first",
        description=f"{who}. Filter with `status`. Problems: `invalid_cursor` (400), "
        "`webhook_endpoint_not_found` (404).",
    )
    def list_deliveries(
        endpoint_id: uuid.UUID,
        session: SessionDep,
        cursor: Cursor = None,
        limit: Limit = 20,
        status: DeliveryStatus | None = None,
        owner: service.WebhookOwner = Depends(owner_dep),
    ) -> WebhookDeliveryPage:
        endpoint = service.get_endpoint(session, owner, endpoint_id)
        rows, next_cursor = service.list_deliveries(
            session, endpoint, cursor=cursor, limit=limit, status=status
        )
        return WebhookDeliveryPage(items=[delivery_read(r) for r in rows], next_cursor=next_cursor)

    @routes.get(
        "/{endpoint_id}/deliveries/{delivery_id}",
        operation_id=f"{name}_get_delivery",
        response_model=WebhookDeliveryRead,
        responses=problem_responses(401, 403, 404),
        summary="One delivery with every attempt (status code, duration, error, response excerpt)",
        description=f"{who}. Problems: `webhook_endpoint_not_found`, `webhook_delivery_not_found` (404).",
    )
    def get_delivery(
        endpoint_id: uuid.UUID,
        delivery_id: uuid.UUID,
        session: SessionDep,
        owner: service.WebhookOwner = Depends(owner_dep),
    ) -> WebhookDeliveryRead:
        endpoint = service.get_endpoint(session, owner, endpoint_id)
        delivery = service.get_delivery(session, endpoint, delivery_id)
        return delivery_read(delivery, service.delivery_attempts(session, delivery.id))

    @routes.post(
        "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
        operation_id=f"{name}_redeliver",
        response_model=WebhookDeliveryRead,
        status_code=status.HTTP_202_ACCEPTED,
        responses=problem_responses(401, 403, 404),
        summary="Send a delivery again (same webhook-id and body, fresh retry schedule)",
        description=f"{who}. Problems: `webhook_endpoint_not_found`, `webhook_delivery_not_found` (404).",
    )
    def redeliver(
        endpoint_id: uuid.UUID,
        delivery_id: uuid.UUID,
        session: SessionDep,
        owner: service.WebhookOwner = Depends(owner_dep),
    ) -> WebhookDeliveryRead:
        endpoint = service.get_endpoint(session, owner, endpoint_id)
        return delivery_read(service.redeliver(session, service.get_delivery(session, endpoint, delivery_id)))

    return routes


router.include_router(inbox)
router.include_router(
    webhook_routes("/v1/me/webhooks", _user_owner, "webhooks_me", "Registered users (creators' own systems)")
)
router.include_router(
    webhook_routes(
        "/v1/merchant/webhooks", _organisation_owner, "webhooks_merchant", "Merchants, for their organisation"
    )
)
