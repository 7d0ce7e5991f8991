"""The secrets registry: lasting secrets are never forgotten, however many access tokens follow
(with one queue for both, the client secret went out of it after 64 renewals, five hours of a
dashboard, and was printed in full from then on)."""

from __future__ import annotations

import secrets

from hm_tui.service.redact import MASK, register_secret, shown


def opaque_token() -> str:
    """A token no pattern recognises (not a JWT): only the registry can mask it."""
    return secrets.token_urlsafe(48)


def test_the_client_secret_is_masked_after_hundreds_of_tokens() -> None:
    client_secret = "cs-" + secrets.token_urlsafe(24)
    register_secret(client_secret)
    tokens = [opaque_token() for _ in range(70)]  # (64 was the old queue's length)
    for value in tokens:
        register_secret(value, lasting=False)
    said = shown(f"error: invalid client {client_secret} (token {tokens[-1]})")
    assert said == f"error: invalid client {MASK} (token {MASK})"


def test_the_last_tokens_are_remembered_the_oldest_forgotten() -> None:
    tokens = [opaque_token() for _ in range(20)]
    for value in tokens:
        register_secret(value, lasting=False)
    assert shown(f"late log line about {tokens[-8]}") == f"late log line about {MASK}"
    assert shown(tokens[0]) == tokens[0]  # (kept forever, each renewal cost more: see redact.py)
