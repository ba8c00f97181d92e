"""Secrets never reach the logs."""

from __future__ import annotations

from quantlab.platform.logging import MASK, mask_sensitive


def test_mask_sensitive_nested() -> None:
    event = {
        "user": "ann",
        "password": "p",
        "headers": {"Authorization": "Bearer x", "accept": "json"},
        "items": [{"refresh_token": "r"}, {"api_key": "k"}],
    }
    masked = mask_sensitive(event)
    assert masked["user"] == "ann"
    assert masked["password"] == MASK
    assert masked["headers"] == {"Authorization": MASK, "accept": "json"}
    assert masked["items"] == [{"refresh_token": MASK}, {"api_key": MASK}]
