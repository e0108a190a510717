"""What one connection may take from a worker: seconds idle, seconds for a head and for a body, a share
of the open connections, and only HTTP/1.x. Tested against `python -m handlers serve` with raw sockets."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.runtime.test_serving import raw_request
from tests.support.helpers import auth
from tests.support.live import LiveServer, live_server

BOUNDS = {"HTTP_IDLE_TIMEOUT": "1", "HTTP_HEAD_TIMEOUT": "1.5", "HTTP_BODY_TIMEOUT": "1.5"}
SLOW = 100  # connections of each kind: idle, trickling a head, trickling a body
TRICKLE_SECONDS = 0.25


async def slow_client(port: int, kind: str, token: str, give_up: float) -> tuple[str, bytes, float]:
    """One connection that sends nothing, or a head or body a few bytes at a time, until the server closes
    it or `give_up` seconds pass; what it was answered and after how long."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if kind == "head":
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
    elif kind == "body":
        writer.write(
            b"POST /api/alice/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
        )
    received = b""
    try:
        while time.monotonic() - started < give_up:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), TRICKLE_SECONDS)
            except TimeoutError:
                if kind == "head":
                    writer.write(b"X-Slow: a\r\n")
                elif kind == "body":
                    writer.write(b" ")
                continue
            if not chunk:
                return kind, received, time.monotonic() - started  # closed by the server
            received += chunk
    except (ConnectionResetError, BrokenPipeError):
        return kind, received, time.monotonic() - started
    finally:
        writer.close()
    return kind, received, -1.0  # still open


async def slow_crowd(server: LiveServer, give_up: float) -> list[tuple[str, bytes, float]]:
    token = auth("alice")["Authorization"]
    crowd = [slow_client(server.port, kind, token, give_up) for kind in ("idle", "head", "body") for _ in range(SLOW)]
    slow = asyncio.gather(*crowd)
    await asyncio.sleep(0.3)
    for _ in range(10):  # ordinary requests are served meanwhile (how fast is `make bench`'s to say)
        status, _, _ = await asyncio.to_thread(server.request, "GET", "/api/health")
        assert status == 200
    return await slow


def test_slow_and_idle_connections_are_answered_or_closed_in_time(
    database_url: str, tmp_path: Path, direct: Engine
) -> None:
    """300 slow connections (the probe's 750 stayed open for 40 s): each is closed within its bound plus
    a trickle interval, a slow head or body answered 408 problem+json first; others are served meanwhile."""
    with live_server(database_url, tmp_path, LOG_LEVEL="INFO", **BOUNDS) as server:
        results = asyncio.run(slow_crowd(server, give_up=6))
        log = server.log()
    closed_after: dict[str, list[float]] = {"idle": [], "head": [], "body": []}
    answers: Counter[tuple[str, bytes]] = Counter()
    for kind, received, seconds in results:
        assert seconds >= 0, f"a {kind} connection was still open after 6 s"
        closed_after[kind].append(seconds)
        answers[kind, received.split(b"\r\n", 1)[0]] += 1
        if kind != "idle":
            assert b"content-type: application/problem+json" in received.lower()
            assert json.loads(received.split(b"\r\n\r\n", 1)[1])["status"] == 408
    assert answers == {("idle", b""): SLOW, ("head", b"HTTP/1.1 408 Request Timeout"): SLOW,
                       ("body", b"HTTP/1.1 408 Request Timeout"): SLOW}  # fmt: skip
    assert min(closed_after["idle"]) > 0.9 and max(closed_after["idle"]) < 1 + 1.5
    for kind in ("head", "body"):
        assert min(closed_after[kind]) > 1.4 and max(closed_after[kind]) < 1.5 + 1.5
    assert log.count("Request head not complete after 1.5 s") == SLOW
    assert log.count("Request body not complete after 1.5 s") == SLOW
    assert "Traceback" not in log


def test_connections_beyond_the_limit_are_503(database_url: str, tmp_path: Path, direct: Engine) -> None:
    async def scenario(server: LiveServer) -> tuple[bytes, bytes]:
        held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(50)]
        await asyncio.sleep(0.2)
        over = await asyncio.to_thread(raw_request, server.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        for _, writer in held[:10]:
            writer.close()
        await asyncio.sleep(0.3)
        under = await asyncio.to_thread(
            raw_request, server.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        for _, writer in held[10:]:
            writer.close()
        return over, under

    with live_server(database_url, tmp_path, HTTP_MAX_CONNECTIONS="50", HTTP_IDLE_TIMEOUT="30") as server:
        over, under = asyncio.run(scenario(server))
        log = server.log()
    assert over.startswith(b"HTTP/1.1 503 "), over[:200]
    assert b"content-type: application/problem+json" in over.lower()
    assert b"retry-after: 5" in over.lower()
    assert under.startswith(b"HTTP/1.1 200 "), under[:200]
    assert "Connection refused: over 50 open connections." in log


@pytest.mark.parametrize(
    ("request_line", "status"),
    [(b"GET /api/health HTTP/2.0", 505), (b"GET /api/health", 400), (b"GET /api/health HTTP/0.9", 400)],
)
def test_request_lines_that_are_not_http_1_are_refused(
    database_url: str, tmp_path: Path, direct: Engine, request_line: bytes, status: int
) -> None:
    with live_server(database_url, tmp_path) as server:
        answer = raw_request(server.port, request_line + b"\r\nHost: x\r\n\r\n")
        assert raw_request(server.port, b"GET /api/health HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 ")
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
    assert b"content-type: application/problem+json" in answer.lower()


def test_literal_dot_segments_are_404(database_url: str, tmp_path: Path, direct: Engine) -> None:
    """What a client sends as is (`curl --path-as-is`), which httpx would resolve first."""
    body = b'{"title": "x"}'
    with live_server(database_url, tmp_path) as server:
        for segment in (".", ".."):
            head = (
                f"POST /api/{segment}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: {auth(segment)['Authorization']}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            answer = raw_request(server.port, head.encode() + body)
            assert answer.startswith(b"HTTP/1.1 404 "), answer[:200]


def test_a_body_still_trickling_after_the_answer_is_cut_off(database_url: str, tmp_path: Path, direct: Engine) -> None:
    """A 401 is sent before the body is read; the connection then waits for the rest of the body (it
    must, to read the next request), but only until the body deadline."""
    head = (
        b"POST /api/alice/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
        b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
    )

    async def scenario(port: int) -> tuple[bytes, float]:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        received = b""
        while time.monotonic() - started < 6:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), TRICKLE_SECONDS)
            except TimeoutError:
                writer.write(b" ")
                continue
            if not chunk:
                break
            received += chunk
        writer.close()
        return received, time.monotonic() - started

    with live_server(database_url, tmp_path, **BOUNDS) as server:
        received, seconds = asyncio.run(scenario(server.port))
    assert received.startswith(b"HTTP/1.1 401 "), received[:200]
    assert received.count(b"HTTP/1.1 ") == 1  # no 408 after the answer
    assert 1.4 < seconds < 3
