"""Access-token verification: every tampering case is a 401 with WWW-Authenticate."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from quantlab.auth.tokens import TokenCodec


def _claims(user: Any, **overrides: Any) -> dict[str, Any]:
    base = jwt.decode(user.access_token, options={"verify_signature": False})
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def _sign(app: Any, claims: dict[str, Any], *, key: str | None = None, **header: Any) -> str:
    codec: TokenCodec = app.state.token_codec
    headers = {"kid": codec.kid, **header}
    return jwt.encode(
        claims, key or app.state.settings.secret(), algorithm="HS256", headers=headers
    )


async def _status(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_valid_token_and_leeway(app: Any, client: httpx.AsyncClient, researcher: Any) -> None:
    assert (await _status(client, researcher.access_token)).status_code == 200
    now = int(time.time())
    # 10 s past expiry is inside the 30 s clock-skew allowance
    within = _sign(app, _claims(researcher, exp=now - 10, iat=now - 100, nbf=now - 100))
    assert (await _status(client, within)).status_code == 200
    header = jwt.get_unverified_header(researcher.access_token)
    assert header["alg"] == "HS256" and header["kid"] == app.state.token_codec.kid


def _alg_none(claims: dict[str, Any], kid: str) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}."


@pytest.mark.parametrize(
    "case",
    [
        "alg_none",
        "wrong_key",
        "wrong_aud",
        "wrong_iss",
        "expired",
        "nbf_future",
        "iat_missing",
        "exp_missing",
        "payload_edited",
        "unknown_kid",
        "hs512",
        "refresh_typ",
    ],
)
async def test_tampered_tokens_are_401(
    app: Any, client: httpx.AsyncClient, researcher: Any, case: str
) -> None:
    now = int(time.time())
    kid = app.state.token_codec.kid
    if case == "alg_none":
        token = _alg_none(_claims(researcher), kid)
    elif case == "wrong_key":
        token = _sign(app, _claims(researcher), key="another-secret-of-sufficient-length-000")
    elif case == "wrong_aud":
        token = _sign(app, _claims(researcher, aud="someone-else"))
    elif case == "wrong_iss":
        token = _sign(app, _claims(researcher, iss="evil"))
    elif case == "expired":
        token = _sign(app, _claims(researcher, exp=now - 120, iat=now - 1000, nbf=now - 1000))
    elif case == "nbf_future":
        token = _sign(app, _claims(researcher, nbf=now + 600, iat=now))
    elif case == "iat_missing":
        claims = _claims(researcher)
        claims.pop("iat")
        token = _sign(app, claims)
    elif case == "exp_missing":
        claims = _claims(researcher)
        claims.pop("exp")
        token = _sign(app, claims)
    elif case == "payload_edited":
        head, _, sig = researcher.access_token.split(".")
        body = base64.urlsafe_b64encode(
            json.dumps(_claims(researcher, sub="0" * 32)).encode()
        ).rstrip(b"=")
        token = f"{head}.{body.decode()}.{sig}"
    elif case == "unknown_kid":
        token = _sign(app, _claims(researcher), kid="deadbeefdeadbeef")
    elif case == "hs512":
        token = jwt.encode(
            _claims(researcher),
            app.state.settings.secret(),
            algorithm="HS512",
            headers={"kid": kid},
        )
    else:
        token = _sign(app, _claims(researcher, typ="refresh"))
    resp = await _status(client, token)
    assert resp.status_code == 401, (case, resp.text)
    assert resp.json()["error"]["code"] == "INVALID_TOKEN"
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]


async def test_token_of_deactivated_user_is_401(
    client: httpx.AsyncClient, make_user: Any, admin_headers: dict[str, str]
) -> None:
    user = await make_user()
    assert (await _status(client, user.access_token)).status_code == 200  # now cached
    resp = await client.patch(
        f"/api/admin/users/{user.id}", json={"is_active": False}, headers=admin_headers
    )
    assert resp.status_code == 200 and resp.json()["data"]["is_active"] is False
    denied = await _status(client, user.access_token)
    assert denied.status_code == 401 and "www-authenticate" in denied.headers
    refresh = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401
    # reactivation does not bring old sessions back
    await client.patch(
        f"/api/admin/users/{user.id}", json={"is_active": True}, headers=admin_headers
    )
    assert (await _status(client, user.access_token)).status_code == 401


def test_rs256_keys_and_algorithm_confusion(tmp_path: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from quantlab.auth.exceptions import InvalidToken
    from tests.conftest import make_settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "jwt.pem"
    public = tmp_path / "jwt.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public.write_bytes(pub_pem)
    settings = make_settings(
        tmp_path,
        "sqlite+aiosqlite://",
        jwt_algorithm="RS256",
        jwt_private_key_file=private,
        jwt_public_key_file=public,
    )
    codec = TokenCodec(settings)
    token, _ = codec.issue("u" * 32, "s" * 32, 3)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = codec.verify(token)
    assert (claims.user_id, claims.session_id, claims.session_version) == ("u" * 32, "s" * 32, 3)
    # the classic confusion: an HS256 token "signed" with the public key as the secret
    forged_claims = jwt.decode(token, options={"verify_signature": False})
    # (built by hand: PyJWT itself refuses to HMAC-sign with a PEM public key)
    forged = _hs256_with_key(forged_claims, pub_pem, codec.kid)
    with pytest.raises(InvalidToken):
        codec.verify(forged)


def _hs256_with_key(claims: dict[str, Any], key: bytes, kid: str) -> str:
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"
