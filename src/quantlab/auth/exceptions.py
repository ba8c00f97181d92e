"""Errors of the auth domain (each code is registered in the platform catalog)."""

from __future__ import annotations

from quantlab.platform.errors import Conflict, Forbidden, QuantlabError, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "INVALID_CREDENTIALS"
    description = "Unknown account or wrong password (deliberately not told apart)."


class InvalidToken(Unauthorized):
    code = "INVALID_TOKEN"
    description = "The token is missing, malformed, expired, revoked or not for this API."


class LoginThrottled(QuantlabError):
    code = "LOGIN_THROTTLED"
    status = 429
    description = "Too many failed sign-ins for this account or address; retry later."


class PasswordChangeRequired(Forbidden):
    code = "PASSWORD_CHANGE_REQUIRED"
    description = "The password was reset; change it (POST /api/auth/password) to continue."


class InsufficientRole(Forbidden):
    code = "INSUFFICIENT_ROLE"
    description = "Your role or token scope does not allow this."


class RegistrationClosed(Forbidden):
    code = "REGISTRATION_CLOSED"
    description = "Self-service registration is off; ask an administrator for an account."


class WeakPassword(QuantlabError):
    code = "WEAK_PASSWORD"
    status = 422
    description = "The password is too short, too long, too common or the account name."


class AccountExists(Conflict):
    code = "ACCOUNT_EXISTS"
    description = "An account with this username or email already exists."


class LastAdmin(Conflict):
    code = "LAST_ADMIN"
    description = "This would leave no active administrator."


class UserNotFound(QuantlabError):
    code = "USER_NOT_FOUND"
    status = 404
    description = "No such user."


class TokenNotFound(QuantlabError):
    code = "TOKEN_NOT_FOUND"
    status = 404
    description = "No such personal access token."
