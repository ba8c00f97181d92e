"""Sign-in throttling (growing delays per account and per address) and the login limit."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import client_from


async def _login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post("/api/auth/token", data={"username": username, "password": password})


async def test_account_is_locked_with_growing_delays(app: Any, make_user: Any) -> None:
    user = await make_user()
    free = app.state.settings.login_free_attempts_account
    # spread over addresses so only the per-account throttle is in play
    for i in range(free):
        async with client_from(app, f"10.77.{i}.1") as c:
            assert (await _login(c, user.username, "wrong password!")).status_code == 401
    async with client_from(app, "10.77.100.1") as c:
        over = await _login(c, user.username, "wrong password!")
        assert over.status_code == 401  # the failure that starts the first delay
        locked = await _login(c, user.username, user.password)  # even the right password
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "LOGIN_THROTTLED"
    assert int(locked.headers["retry-after"]) >= 1
    throttle = app.state.login_throttle
    lock = f"login:acct:{user.username}:lock"
    first_delay = await throttle.storage.get_expiry(lock)
    await throttle.storage.clear(lock)  # let the first delay pass
    async with client_from(app, "10.77.101.1") as c:
        assert (await _login(c, user.username, "wrong again!!")).status_code == 401
    second_delay = await throttle.storage.get_expiry(lock)
    assert second_delay - first_delay >= 0.9  # 1 s, then 2 s
    await throttle.storage.clear(lock)
    async with client_from(app, "10.77.102.1") as c:
        assert (await _login(c, user.username, user.password)).status_code == 200
        # success resets the account's count
        assert (await _login(c, user.username, "wrong once more")).status_code == 401
        assert (await _login(c, user.username, user.password)).status_code == 200


async def test_unknown_accounts_are_throttled_alike(app: Any) -> None:
    free = app.state.settings.login_free_attempts_account
    async with client_from(app, "10.78.0.1") as c:
        for _ in range(free + 1):
            assert (await _login(c, "ghost-account", "whatever12345")).status_code == 401
        assert (await _login(c, "ghost-account", "whatever12345")).status_code == 429


async def test_address_is_throttled_across_accounts(app: Any, make_user: Any) -> None:
    user = await make_user()
    app.state.login_throttle.settings = app.state.settings.model_copy(
        update={"login_free_attempts_address": 3}
    )
    try:
        await app.state.limiter.clear("login", "addr:10.79.0.1")
        async with client_from(app, "10.79.0.1") as c:
            for i in range(4):
                assert (await _login(c, f"spray-{i}", "Spring2024!!")).status_code == 401
            blocked = await _login(c, user.username, user.password)
        assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "LOGIN_THROTTLED"
        async with client_from(app, "10.79.0.2") as other:
            assert (await _login(other, user.username, user.password)).status_code == 200
    finally:
        app.state.login_throttle.settings = app.state.settings


async def test_login_rate_limit_is_429_with_headers(app: Any) -> None:
    limit = int(app.state.settings.rate_limits["login"].split("/")[0])
    async with client_from(app, "10.80.0.1") as c:
        codes = [
            (await c.post("/api/auth/refresh", json={"refresh_token": "qlr_x"})).status_code
            for _ in range(limit)
        ]
        assert set(codes) == {401}
        resp = await c.post("/api/auth/refresh", json={"refresh_token": "qlr_x"})
    assert resp.status_code == 429
    body = resp.json()
    assert body["status"] == "error" and body["error"]["code"] == "RATE_LIMITED"
    assert int(resp.headers["retry-after"]) >= 1
    assert resp.headers["ratelimit-limit"] == str(limit)
    assert resp.headers["ratelimit-remaining"] == "0"
    assert int(resp.headers["ratelimit-reset"]) >= 1
