"""The ceiling for the accounts load benchmark: a FastAPI app that only verifies the JWT
and reads one cached row from Redis. Run by benchmarks/api_load.py; not part of quantlab."""

from __future__ import annotations

import json
import os
from typing import Any

import jwt
from fastapi import FastAPI, Header, HTTPException
from redis.asyncio import Redis

SECRET = os.environ["MINIMAL_SECRET"]
AUDIENCE = os.environ.get("MINIMAL_AUDIENCE", "quantlab-api")
ISSUER = os.environ.get("MINIMAL_ISSUER", "quantlab")
ROW_KEY = os.environ["MINIMAL_ROW_KEY"]

app = FastAPI()
redis = Redis.from_url(os.environ["MINIMAL_REDIS_URL"])


@app.get("/api/user/preferences")
async def preferences(authorization: str = Header("")) -> dict[str, Any]:
    token = authorization.removeprefix("Bearer ")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401) from exc
    raw = await redis.get(ROW_KEY)
    return {"status": "success", "data": {"user": claims["sub"], **json.loads(raw or "{}")}}
