"""Tokens minted by a real Better Auth instance (jwt plugin, default options), sent to the API configured
with BETTER_AUTH_URL alone. Run by `tests/interop/run`; prints one line per check, exits 1 on a failure."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AUTH_PORT = int(os.environ.get("INTEROP_AUTH_PORT", "8390"))
API_PORT = int(os.environ.get("INTEROP_API_PORT", "8391"))
AUTH = f"http://127.0.0.1:{AUTH_PORT}"
API = f"http://127.0.0.1:{API_PORT}/api"


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={  # noqa: S310 (our own http URLs)
        **({"Content-Type": "application/json"} if data else {}), "Origin": AUTH, **(headers or {})})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if process.poll() is not None:
            sys.exit(f"FAIL: {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    sys.exit(f"FAIL: {url} did not start")


def check(condition: bool, what: str) -> None:
    print(("ok:   " if condition else "FAIL: ") + what, flush=True)
    if not condition:
        sys.exit(1)


def part(token: str, index: int) -> Any:
    segment = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def sign_up(email: str) -> tuple[str, str]:
    """A new Better Auth user: its id and its session cookie."""
    body = {"email": email, "password": "correct-horse-battery-staple", "name": email.split("@")[0]}
    status, headers, user = call("POST", f"{AUTH}/api/auth/sign-up/email", body)
    check(status == 200, f"Better Auth signs up {email}")
    return user["user"]["id"], headers["Set-Cookie"].split(";")[0]


def scenario() -> None:
    alice, cookie = sign_up("alice@example.com")
    status, _, body = call("GET", f"{AUTH}/api/auth/token", headers={"Cookie": cookie})
    token = body["token"]
    _, session_headers, _ = call("GET", f"{AUTH}/api/auth/get-session", headers={"Cookie": cookie})
    header_token = session_headers["set-auth-jwt"]
    _, _, jwks = call("GET", f"{AUTH}/api/auth/jwks")
    header, claims = part(token, 0), part(token, 1)
    print(f"info: token header {header}; JWKS {[{k: v for k, v in key.items() if k != 'x'} for key in jwks['keys']]}")
    check(header["alg"] == "EdDSA" and header["kid"] in [k["kid"] for k in jwks["keys"]], "EdDSA token, kid in JWKS")
    check(claims["sub"] == alice and claims["iss"] == claims["aud"] == AUTH, "sub is the user id, iss = aud = origin")

    bearer = {"Authorization": f"Bearer {token}"}
    status, _, task = call("POST", f"{API}/{alice}/tasks", {"title": "from Better Auth"}, bearer)
    check(status == 201, f"API accepts the /api/auth/token JWT: POST task -> {status}")
    status, _, tasks = call("GET", f"{API}/{alice}/tasks", headers={"Authorization": f"Bearer {header_token}"})
    check(status == 200 and [t["id"] for t in tasks] == [task["id"]], f"the set-auth-jwt token lists it -> {status}")
    status, _, _ = call("GET", f"{API}/someone-else/tasks", headers=bearer)
    check(status == 403, f"another user's path -> {status}")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    status, headers, _ = call("GET", f"{API}/{alice}/tasks", headers={"Authorization": f"Bearer {tampered}"})
    check(status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), f"a tampered signature -> {status}")

    bob, bob_cookie = sign_up("bob@example.com")
    _, _, body = call("GET", f"{AUTH}/api/auth/token", headers={"Cookie": bob_cookie})
    bob_bearer = {"Authorization": f"Bearer {body['token']}"}
    status, _, tasks = call("GET", f"{API}/{bob}/tasks", headers=bob_bearer)
    check(status == 200 and tasks == [], f"a second user sees no tasks -> {status}")
    status, _, _ = call("GET", f"{API}/{bob}/tasks/{task['id']}", headers=bob_bearer)
    check(status == 404, f"and not alice's task -> {status}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite:///{tmp}/interop.db", "LOG_LEVEL": "WARNING"}
        subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
        auth = subprocess.Popen(["node", "server.mjs"], cwd=HERE, env={**env, "PORT": str(AUTH_PORT)})  # noqa: S607
        # Only BETTER_AUTH_URL: no secret, run outside the repository so that no .env is read.
        api_env = {**env, "BETTER_AUTH_URL": AUTH, "PORT": str(API_PORT), "PYTHONPATH": str(ROOT)}
        api = subprocess.Popen([sys.executable, "-m", "handlers", "serve"], cwd=tmp, env=api_env)
        try:
            wait_for(f"{AUTH}/api/auth/jwks", auth)
            wait_for(f"{API}/health", api)
            scenario()
        finally:
            for process in (api, auth):
                process.terminate()
                process.wait(timeout=10)
    print("interop: all checks passed")


if __name__ == "__main__":
    main()
