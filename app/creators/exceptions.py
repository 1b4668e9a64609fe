from __future__ import annotations

from app.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable


class NotApplied(NotFound):
    code = "not_applied"


class CreatorNotFound(NotFound):
    code = "creator_not_found"


class CollaborationNotFound(NotFound):
    code = "collaboration_not_found"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"


class InvitationAlreadyDecided(Conflict):
    code = "invitation_already_decided"


class CollaborationEnded(Conflict):
    code = "collaboration_ended"


class InvalidCollaboration(Unprocessable):
    code = "invalid_collaboration"


class InvalidRates(Unprocessable):
    code = "invalid_rates"


class UnknownCategory(Unprocessable):
    code = "unknown_category"


class AdmissionSuspended(Forbidden):
    code = "creator_suspended"


class PayoutNotFound(NotFound):
    code = "payout_not_found"


class PayoutRunNotFound(NotFound):
    code = "payout_run_not_found"


class PayoutAlreadySettled(Conflict):
    code = "payout_already_settled"


class IdeaListNotFound(NotFound):
    code = "idea_list_not_found"


class ProductNotFeatured(Unprocessable):
    code = "product_not_featured"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class InvalidPayoutWebhook(BadRequest):
    code = "invalid_webhook"
