from app.errors import NotFound, Unprocessable


class NotificationNotFound(NotFound):
    code = "notification_not_found"


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"


class InvalidWebhookUrl(Unprocessable):
    code = "invalid_webhook_url"


class UnknownEventType(Unprocessable):
    code = "unknown_event_type"
