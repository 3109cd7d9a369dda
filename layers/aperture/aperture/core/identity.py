"""Who is calling: bearer ID tokens, verified with PyJWT.

In AWS, Cognito issues the tokens (API Gateway's Cognito authorizer checks them first) and the
keys come from the user pool's JWKS. Locally, the stack generates a signing key at start and
``DevIssuer`` issues tokens with it (``POST /auth/token``). Expiry is checked against the
domain clock, so tests can age a token without waiting.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from aperture.core import clock
from aperture.core.errors import Forbidden, NotFound, Unauthorized

ALGORITHM = "RS256"
MODERATORS = "moderators"
USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEV_SIGNING_KEY = "AUTH_DEV_SIGNING_KEY"  # set only by the local stack, never in the template


@dataclass(frozen=True)
class Caller:
    user_id: str
    claims: dict[str, Any]

    @property
    def is_moderator(self) -> bool:
        """In the Cognito group whose members decide reviews and see moderation's details."""
        return MODERATORS in (self.claims.get("cognito:groups") or [])

    @property
    def sign_in_name(self) -> str:
        """The Cognito user behind the token (its username), to delete with the account."""
        return str(self.claims.get("cognito:username") or self.user_id)


def require_moderator(caller: Caller) -> None:
    if not caller.is_moderator:
        raise Forbidden("only moderators may do this")


@dataclass(frozen=True)
class TokenVerifier:
    issuer: str
    audience: str
    dev_public_key: Any = None

    def _key(self, token: str) -> Any:
        if self.dev_public_key is not None:
            return self.dev_public_key
        return _jwks(f"{self.issuer}/.well-known/jwks.json").get_signing_key_from_jwt(token).key

    def verify(self, authorization: str | None) -> Caller:
        if not authorization:
            raise Unauthorized("a bearer token is required")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                self._key(token.strip()),
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "sub", "aud", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError as error:
            raise Unauthorized("the token was issued for another audience") from error
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError) as error:
            raise Unauthorized(f"the token is not valid: {error}") from error
        if not isinstance(claims["exp"], int | float) or claims["exp"] <= clock.now():
            raise Unauthorized("the token has expired")
        if claims.get("token_use", "id") != "id":
            raise Unauthorized("an ID token is required")
        if not isinstance(claims["sub"], str) or not USER_ID.fullmatch(claims["sub"]):
            raise Unauthorized("the token's subject is not a user id")
        return Caller(claims["sub"], claims)


@cache
def _jwks(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


class DevIssuer:
    """The local stack's stand-in for Cognito: it signs ID tokens with the generated key."""

    def __init__(self, private_key_pem: str, issuer: str, audience: str) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self.issuer = issuer
        self.audience = audience

    def issue(self, user_id: str, lifetime_seconds: int = 3600, groups: tuple[str, ...] = ()) -> str:
        now = int(clock.now())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "iat": now,
            "exp": now + lifetime_seconds,
            "token_use": "id",
            "jti": str(uuid.uuid4()),
        }
        if groups:
            claims["cognito:groups"] = list(groups)  # as Cognito puts a user's groups in their id token
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)  # type: ignore[arg-type]

    def public_key(self) -> Any:
        return self._key.public_key()


def _settings() -> tuple[str, str, str | None]:
    return os.environ["AUTH_ISSUER"], os.environ["AUTH_AUDIENCE"], os.environ.get(DEV_SIGNING_KEY)


@cache
def _verifier(issuer: str, audience: str, dev_key: str | None) -> TokenVerifier:
    public = DevIssuer(dev_key, issuer, audience).public_key() if dev_key else None
    return TokenVerifier(issuer, audience, public)


def verifier() -> TokenVerifier:
    return _verifier(*_settings())


def dev_issuer() -> DevIssuer:
    """The local issuer; there is none in AWS, where Cognito signs in users."""
    issuer, audience, dev_key = _settings()
    if not dev_key:
        raise NotFound("there is no development login here: sign in with Cognito")
    return DevIssuer(dev_key, issuer, audience)


def generate_dev_signing_key() -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
