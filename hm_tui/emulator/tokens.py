"""Access tokens: client secret or ES256 key assertion → ES256 JWT; revocation (RFC 7009).

The emulated app's identity (client id and secret, the key pair the client signs assertions with,
app id, webhook secret) is generated on first start into the state dir and reused afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SCOPE = "fleet:clearance vehicle:eligibility-check vehicle:data"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
IAT_WINDOW_S = 300
IDENTITY_FILE = "identity.json"
PRIVATE_KEY_FILE = "private_key.pem"


@dataclass(frozen=True, slots=True)
class Identity:
    """The emulated app's credentials; secrets are kept out of repr()."""

    client_id: str
    private_key_id: str
    app_id: str
    private_key_file: str
    client_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        pem = Path(self.private_key_file).read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key.public_key()


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def write_private_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON readable by the owner only (0600), atomically."""
    _write_private(path, (json.dumps(payload, indent=2) + "\n").encode())


def ensure_identity(state_dir: Path) -> Identity:
    """Load the app identity from `state_dir`, creating it (and the client key pair) once."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path, key_path = state_dir / IDENTITY_FILE, state_dir / PRIVATE_KEY_FILE
    if path.exists() and key_path.exists():
        try:
            saved = json.loads(path.read_text())
            return Identity(**{**saved, "private_key_file": str(key_path)})
        except (ValueError, TypeError):
            pass  # unreadable: make a fresh identity
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(key_path, pem)
    identity = Identity(
        client_id=str(uuid.uuid4()),
        private_key_id=str(uuid.uuid4()),
        app_id=secrets.token_hex(12).upper(),
        private_key_file=str(key_path),
        client_secret=secrets.token_urlsafe(32),
        webhook_secret=secrets.token_urlsafe(24),
    )
    write_private_json(path, {k: v for k, v in asdict(identity).items() if k != "private_key_file"})
    return identity


class TokenError(Exception):
    """An OAuth-style refusal: `error` and `error_description`, status 400."""

    def __init__(self, description: str, error: str = "invalid_request") -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class TokenIssuer:
    """Issues and checks access tokens; `base_url` is set once the server knows its port."""

    def __init__(self, identity: Identity, ttl: int = 300, base_url: str = "") -> None:
        self.identity = identity
        self.ttl = ttl
        self.base_url = base_url
        self.issued = 0
        self._signing_key = ec.generate_private_key(ec.SECP256R1())
        self._client_key = identity.public_key()
        self._generation = 0
        self._seen_jti: dict[str, float] = {}
        self._revoked: dict[str, float] = {}  # jti -> exp of the tokens revoked and not expired

    def exchange(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check a token request (either form) and issue a token; raises TokenError."""
        grant = body.get("grant_type")
        if grant is None:
            raise TokenError("grant_type is missing")
        if grant != "client_credentials":
            raise TokenError("grant_type must be client_credentials", "unsupported_grant_type")
        self._authenticate(body)
        return self.issue()

    def revoke(self, body: dict[str, Any]) -> None:
        """Revoke the `token` of a revocation request (RFC 7009); raises TokenError when the
        request is malformed or the client does not prove who it is. A token that is unknown,
        expired or already revoked is no error: there is nothing left to revoke."""
        self._authenticate(body)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise TokenError("token is missing")
        hint = body.get("token_type_hint")
        if hint is not None and hint not in ("access_token", "refresh_token"):
            raise TokenError(
                "token_type_hint must be access_token or refresh_token", "unsupported_token_type"
            )
        now = time.time()
        self._revoked = {j: exp for j, exp in self._revoked.items() if exp > now}
        claims = self._own_claims(token)
        if claims is not None and claims.get("sub") == self.identity.client_id:
            self._revoked[str(claims.get("jti"))] = float(claims.get("exp") or now)

    def _own_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this issuer signed (expired or not), None for anything else."""
        try:
            return jwt.decode(
                token,
                self._signing_key.public_key(),
                algorithms=["ES256"],
                audience=self.base_url,
                options={"verify_exp": False},
            )
        except jwt.PyJWTError:
            return None

    def _authenticate(self, body: dict[str, Any]) -> None:
        """The client proves who it is: its id plus its secret or a signed assertion."""
        client_id = body.get("client_id")
        if client_id is None:
            raise TokenError("client_id is missing")
        if client_id != self.identity.client_id:
            raise TokenError("client_id is invalid", "invalid_client")
        if "client_assertion" in body:
            self._check_assertion(body)
        elif "client_secret" in body:
            secret = body["client_secret"]
            if not isinstance(secret, str) or not secrets.compare_digest(
                secret.encode(), self.identity.client_secret.encode()
            ):
                raise TokenError("client_secret is invalid")
        else:
            raise TokenError("client_secret or client_assertion is required")

    def _check_assertion(self, body: dict[str, Any]) -> None:
        if body.get("client_assertion_type") != ASSERTION_TYPE:
            raise TokenError(f"client_assertion_type must be {ASSERTION_TYPE}")
        try:
            claims = jwt.decode(
                str(body["client_assertion"]),
                self._client_key,
                algorithms=["ES256"],
                audience=self.base_url,
                options={"require": ["iss", "aud", "jti", "iat"], "verify_iat": False},
            )
        except jwt.InvalidAudienceError:
            raise TokenError(f"client_assertion aud must be {self.base_url}") from None
        except jwt.InvalidSignatureError:
            raise TokenError("client_assertion signature is invalid") from None
        except jwt.PyJWTError as exc:
            raise TokenError(f"client_assertion is invalid: {exc}") from None
        self._check_claims(claims)

    def _check_claims(self, claims: dict[str, Any]) -> None:
        if claims.get("iss") != self.identity.private_key_id:
            raise TokenError("client_assertion iss must be the private key id")
        now = time.time()
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or abs(now - iat) > IAT_WINDOW_S:
            raise TokenError("client_assertion iat is outside the allowed window (5 minutes)")
        self._seen_jti = {j: t for j, t in self._seen_jti.items() if now - t <= 2 * IAT_WINDOW_S}
        jti = str(claims.get("jti"))
        if jti in self._seen_jti:
            raise TokenError("client_assertion jti was already used")
        self._seen_jti[jti] = now

    def issue(self) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.base_url,
            "sub": self.identity.client_id,
            "aud": self.base_url,
            "iat": now,
            "exp": now + self.ttl,
            "jti": str(uuid.uuid4()),
            "scope": SCOPE,
            "app_id": self.identity.app_id,
            "gen": self._generation,
        }
        token = jwt.encode(claims, self._signing_key, algorithm="ES256")
        self.issued += 1
        return {
            "access_token": token,
            "expires_in": self.ttl,
            "scope": SCOPE,
            "token_type": "bearer",
        }

    def check(self, authorization: str | None) -> str | None:
        """None if the bearer token is good, else the 401 detail."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return "Missing access token"
        token = authorization[7:].strip()
        try:
            claims = jwt.decode(
                token, self._signing_key.public_key(), algorithms=["ES256"], audience=self.base_url
            )
        except jwt.ExpiredSignatureError:
            return "Access token expired"
        except jwt.PyJWTError:
            return "Invalid access token"
        if claims.get("gen") != self._generation or claims.get("jti") in self._revoked:
            return "Access token revoked"
        return None

    def invalidate(self) -> None:
        """Make every token issued so far invalid (fault injection)."""
        self._generation += 1
