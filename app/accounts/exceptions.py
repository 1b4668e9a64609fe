from app.errors import Conflict, Forbidden, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    commit_on_error = True  # the family revocation must stick


class EmailTaken(Conflict):
    code = "email_taken"


class HandleTaken(Conflict):
    code = "handle_taken"


class AlreadyRegistered(Conflict):
    code = "already_registered"


class RoleRequired(Forbidden):
    code = "role_required"


class UserNotFound(NotFound):
    code = "user_not_found"


class CreatorNotFound(NotFound):
    code = "creator_not_found"
