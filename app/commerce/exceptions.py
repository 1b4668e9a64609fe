from app.catalog.exceptions import InsufficientStock, PreconditionRequired
from app.errors import BadRequest, Conflict, NotFound, Unprocessable

__all__ = ["InsufficientStock"]


class IdempotencyKeyRequired(PreconditionRequired):
    code = "idempotency_key_required"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class OrderNotFound(NotFound):
    code = "order_not_found"


class SkuUnavailable(Unprocessable):
    code = "sku_unavailable"


class MixedCurrency(Unprocessable):
    code = "mixed_currency"


class InvalidAttribution(Unprocessable):
    code = "invalid_attribution"


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"


class OrderNotRefundable(Conflict):
    code = "order_not_refundable"


class InvalidSignature(BadRequest):
    code = "invalid_signature"


class InvalidWebhook(BadRequest):
    code = "invalid_webhook"


class OrderTooLarge(Unprocessable):
    code = "order_too_large"


class UnknownOrderLine(Unprocessable):
    code = "unknown_order_line"


class RefundExceedsRemaining(Unprocessable):
    code = "refund_exceeds_remaining"


class EmptyRefund(Unprocessable):
    code = "empty_refund"


class DuplicateRefundLine(Unprocessable):
    code = "duplicate_refund_line"
