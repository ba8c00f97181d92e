"""Request and response bodies of the auth and admin routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from quantlab.platform.envelope import IsoDateTime

Role = Literal["admin", "researcher", "viewer"]


class TokenData(BaseModel):
    """The token pair (RFC 6749 §5.1 fields) and whether the password must change first."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str
    refresh_expires_at: datetime
    password_change_required: bool


class TokenOut(BaseModel):
    """OAuth2 token response (RFC 6749 §5.1) at the top level so OAuth2 clients and
    Swagger's Authorize read it, with the same data in the usual envelope."""

    status: Literal["success"] = "success"
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str
    refresh_expires_at: datetime
    password_change_required: bool
    data: TokenData


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str | None = Field(None, max_length=200)
    everywhere: StrictBool = Field(False, description="end every session of the account")


class LogoutOut(BaseModel):
    """How many sessions a sign-out ended."""

    sessions_ended: int
    everywhere: bool


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    email: str | None = Field(None, max_length=254)
    display_name: str = Field("", max_length=100)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: str
    username: str
    email: str | None
    display_name: str
    role: Role
    is_active: bool
    must_change_password: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


class MeOut(BaseModel):
    id: str
    username: str
    email: str | None
    display_name: str
    role: Role
    must_change_password: bool
    token_kind: Literal["access", "pat"]
    read_only: bool
    can_write: bool


class PatCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    read_only: StrictBool = False
    expires_at: IsoDateTime | None = Field(None, description="optional expiry (UTC)")


class PatOut(BaseModel):
    id: str
    name: str
    prefix: str
    read_only: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class PatCreatedOut(PatOut):
    token: str = Field(description="the secret; shown only in this response")


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=64)
    email: str | None = Field(None, max_length=254)
    display_name: str = Field("", max_length=100)
    role: Role = "researcher"
    password: str | None = Field(
        None, max_length=1024, description="omit to generate a one-time password"
    )


class UserCreatedOut(UserOut):
    one_time_password: str | None = None


class UserPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    is_active: StrictBool | None = None
    display_name: str | None = Field(None, max_length=100)


class PasswordResetOut(BaseModel):
    user_id: str
    one_time_password: str


class AuditEventOut(BaseModel):
    id: int
    occurred_at: datetime
    actor_id: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    details: dict[str, Any] | None
    correlation_id: str | None
    client_address: str | None
