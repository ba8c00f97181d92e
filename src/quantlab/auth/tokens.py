"""Access JWTs and opaque random tokens (refresh tokens, personal access tokens).

Access tokens are JWTs signed with HS256 (key from ``settings.secret()``) or RS256 (PEM
key files), carrying a ``kid`` header. Decoding pins the algorithm (so ``alg: none`` and
algorithm confusion are refused) and requires ``exp``, ``iat``, ``nbf``, ``iss``, ``aud``,
``sub`` and ``jti``, with ``settings.jwt_leeway_seconds`` of clock skew.

Refresh tokens and personal access tokens are 256-bit random strings; only their SHA-256
digest is stored, so a database leak reveals no usable token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import jwt

from quantlab.auth.exceptions import InvalidToken
from quantlab.platform.settings import Settings

PAT_PREFIX = "qlp_"
REFRESH_PREFIX = "qlr_"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
VERIFIED_MEMO_SIZE = 10_000


def digest(token: str) -> str:
    """The stored form of an opaque token: hex SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_opaque(prefix: str) -> str:
    """A new random token with a recognisable prefix (helps secret scanners)."""
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims quantlab uses."""

    user_id: str
    session_id: str
    session_version: int
    expires_at: datetime


class TokenCodec:
    """Signs and verifies access JWTs for one settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.algorithm = settings.jwt_algorithm
        self._jwt = jwt.PyJWT()
        self._verified: dict[str, AccessClaims] = {}

    @cached_property
    def _keys(self) -> tuple[Any, Any]:
        if self.algorithm == "RS256":
            s = self.settings
            if not s.jwt_private_key_file or not s.jwt_public_key_file:
                raise RuntimeError("RS256 needs QUANTLAB_JWT_PRIVATE/PUBLIC_KEY_FILE")
            return s.jwt_private_key_file.read_bytes(), s.jwt_public_key_file.read_bytes()
        secret = self.settings.secret()
        return secret, secret

    @cached_property
    def kid(self) -> str:
        """A key id derived from the verification key (changes when the key rotates)."""
        material = self._keys[1]
        raw = material if isinstance(material, bytes) else material.encode()
        return hashlib.sha256(b"quantlab-kid:" + raw).hexdigest()[:16]

    def issue(self, user_id: str, session_id: str, session_version: int) -> tuple[str, datetime]:
        """A signed access token and its expiry time."""
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=self.settings.access_token_minutes)
        claims = {
            "sub": user_id,
            "sid": session_id,
            "sv": session_version,
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "nbf": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        token = jwt.encode(
            claims, self._keys[0], algorithm=self.algorithm, headers={"kid": self.kid}
        )
        return token, expires

    @cached_property
    def _verify_key(self) -> jwt.PyJWK:
        # Prepared once: PyJWT otherwise re-inspects a raw key on every decode.
        material = self._keys[1]
        if self.algorithm == "HS256":
            raw = material if isinstance(material, bytes) else material.encode()
            k = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
            return jwt.PyJWK({"kty": "oct", "k": k, "alg": "HS256"})
        rsa = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
        return jwt.PyJWK.from_json(rsa.to_jwk(rsa.prepare_key(material)), algorithm="RS256")

    def verify(self, token: str) -> AccessClaims:
        """Verified claims of ``token``; :class:`InvalidToken` for anything wrong.

        A token verified before is answered from a small per-process memo until it expires
        (its claims cannot change; revocation is checked per request by the caller).
        """
        known = self._verified.get(token)
        if known is not None:
            if time.time() <= known.expires_at.timestamp() + self.settings.jwt_leeway_seconds:
                return known
            del self._verified[token]
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_MEMO_SIZE:
            self._verified.clear()  # cheap bound; tokens re-verify once after a reset
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            decoded = self._jwt.decode_complete(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options={"require": REQUIRED_CLAIMS},
            )
            if decoded["header"].get("kid") != self.kid:
                raise invalid("token was signed with an unknown key")
            claims = decoded["payload"]
        except jwt.ExpiredSignatureError as exc:
            raise invalid("token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise invalid("token is not valid yet") from exc
        except jwt.InvalidTokenError as exc:
            raise invalid("token is invalid") from exc
        if claims.get("typ") != "access" or not isinstance(claims.get("sid"), str):
            raise invalid("token is not an access token")
        return AccessClaims(
            user_id=str(claims["sub"]),
            session_id=claims["sid"],
            session_version=int(claims.get("sv", -1)),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )


def invalid(message: str) -> InvalidToken:
    """A 401 with the RFC 6750 ``invalid_token`` challenge."""
    challenge = f'Bearer error="invalid_token", error_description="{message}"'
    return InvalidToken(message, headers={"WWW-Authenticate": challenge})
