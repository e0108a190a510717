"""A JWKS endpoint the tests control (keys, status, delay, garbage, down), and tokens like Better Auth's.

The server is real HTTP on 127.0.0.1, in a thread of the test process, on a port the kernel picks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

JWKS_PATH = "/api/auth/jwks"


@dataclass
class KeyPair:
    """A private key and its public JWK, as Better Auth's jwt plugin would publish it."""

    algorithm: str
    kid: str
    private: Any
    jwk: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        public = self.private.public_key()
        to_jwk = {"OKP": OKPAlgorithm, "EC": ECAlgorithm, "RSA": RSAAlgorithm}[self.kty]
        self.jwk = {**to_jwk.to_jwk(public, as_dict=True), "alg": self.algorithm, "kid": self.kid}

    @property
    def kty(self) -> str:
        return {"EdDSA": "OKP", "ES256": "EC", "ES512": "EC", "RS256": "RSA", "PS256": "RSA"}[self.algorithm]

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        header = {k: v for k, v in {"kid": self.kid, **header}.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers=header)


_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # slow to make: one per session


def key_pair(algorithm: str, kid: str) -> KeyPair:
    private: Any = {
        "EdDSA": lambda: ed25519.Ed25519PrivateKey.generate(),
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ES512": lambda: ec.generate_private_key(ec.SECP521R1()),
        "RS256": lambda: _RSA,
        "PS256": lambda: _RSA,
    }[algorithm]()
    return KeyPair(algorithm, kid, private)


def better_auth_claims(origin: str, sub: str = "alice", ttl: int = 900, **overrides: Any) -> dict[str, Any]:
    """The payload Better Auth's jwt plugin signs by default: the user row plus standard claims."""
    now = int(time.time())
    claims = {
        "iat": now, "name": "Alice Example", "email": f"{sub}@example.com", "emailVerified": False,
        "createdAt": "2026-11-20T10:00:00.000Z", "updatedAt": "2026-11-20T10:00:00.000Z", "id": sub,
        "sub": sub, "exp": now + ttl, "iss": origin, "aud": origin,
    }  # fmt: skip
    return {k: v for k, v in {**claims, **overrides}.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with(key: bytes, claims: dict[str, Any], **header: Any) -> str:
    """An HS256 token signed by hand: PyJWT refuses to use a public key as an HMAC secret, an attacker won't."""
    signing_input = f"{b64(json.dumps({'alg': 'HS256', **header}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


class JwksServer:
    """Serves `{"keys": [...]}` at JWKS_PATH; what it answers can be changed while it runs."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.body: bytes | None = None  # served instead of the key set when set (garbage)
        self.delay = 0.0
        self.hits = 0
        self.port = 0
        # Its own path prefix, so that another test process reusing the port of a stopped server (the
        # suite's port range is shared) answers 404 for this one, as a down server fails, not another set.
        self.prefix = f"/{uuid.uuid4().hex[:12]}"
        self._server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What BETTER_AUTH_URL is set to; the JWKS is at base_url + JWKS_PATH, `iss` and `aud` are `origin`."""
        return self.origin + self.prefix

    def start(self) -> JwksServer:
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.hits += 1
                time.sleep(jwks.delay)
                body = jwks.body if jwks.body is not None else json.dumps({"keys": jwks.keys}).encode()
                self.send_response(jwks.status if self.path == jwks.prefix + JWKS_PATH else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        # A port of the kernel's choosing the first time; the same one again when restarted after stop().
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: connections to the port are refused until `start()` binds it again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
