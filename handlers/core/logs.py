"""Logging: one line per event, as text or JSON, each tagged with the request's id."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from handlers.core.redaction import redact

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Attributes every LogRecord has; anything else was passed with `extra=` and belongs in the line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


MAX_MESSAGE_LENGTH = 2000  # a message quoting a client's input must not let it fill the log

# Control characters in a message (a client's input quoted in it, say) would let a caller forge log lines.
_ESCAPES = {code: f"\\x{code:02x}" for code in range(32)} | {0x7F: "\\x7f"}


def message_of(record: logging.LogRecord) -> str:
    """The message, credentials redacted (uvicorn's access line quotes the URL), at most 2000 characters."""
    message = redact(record.getMessage())
    return message if len(message) <= MAX_MESSAGE_LENGTH else message[:MAX_MESSAGE_LENGTH] + "…"


def extras_of(record: logging.LogRecord) -> dict[str, object]:
    """What was passed with `extra=`: numbers as they are, anything else as redacted text."""
    plain = (int, float, bool, type(None))
    return {k: v if isinstance(v, plain) else redact(str(v)) for k, v in vars(record).items() if k not in _STANDARD}


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id] message key=value…` on one line; a traceback follows it."""

    def format(self, record: logging.LogRecord) -> str:
        extra = "".join(f" {k}={v}" for k, v in extras_of(record).items())
        line = f"{self.formatTime(record)} {record.levelname} {record.name} [{getattr(record, 'request_id', '-')}] "
        line += (message_of(record) + extra).translate(_ESCAPES)
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": message_of(record),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update(extras_of(record))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Connexion logs every rejected body at INFO, quoting it whole; the client gets the reason as a 400.
    logging.getLogger("connexion.validators").setLevel(max(logging.WARNING, root.level))
