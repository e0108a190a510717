"""The service as production runs it: `python -m handlers serve`, SIGTERM during a burst of writes,
several worker processes on one database, and oversized request heads."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, text

from handlers.runtime.serving import DrainingServer
from tests.support.databases import tasks_write_locked
from tests.support.helpers import auth
from tests.support.live import LiveServer, live_server


def stored_ids(direct: Engine, user: str) -> set[int]:
    with direct.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT id FROM tasks WHERE user_id = :u"), {"u": user})}


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_in_flight_writes_and_loses_none(
    database_url: str, tmp_path: Path, direct: Engine, workers: int
) -> None:
    """With `--workers 2` uvicorn's workers did not drain their accept queue and the supervisor kept the
    socket listening after they had gone: 8 accepted connections were reset in one run."""
    user = f"shutdown-{uuid.uuid4().hex[:8]}"
    outcomes: Counter[str] = Counter()
    acknowledged: set[int] = set()
    lock = threading.Lock()
    with live_server(database_url, tmp_path, workers=workers) as server:
        wait_for_workers(server, workers)

        def writer() -> None:
            while True:
                try:
                    status, headers, _ = server.request("POST", f"/api/{user}/tasks", {"title": "w"}, user)
                except ConnectionRefusedError:
                    with lock:
                        outcomes["refused"] += 1  # not accepted: the listener is closed, as it should be
                    return
                except OSError as exc:  # a reset or an empty reply after the connection was accepted
                    reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
                    when = "after SIGTERM" if signalled else "before SIGTERM"
                    with lock:
                        outcomes[f"broken {when}: {reason}"] += 1
                    return
                with lock:
                    outcomes[str(status)] += 1
                    if status == 201:
                        acknowledged.add(int(headers["location"].rsplit("/", 1)[1]))

        threads = [threading.Thread(target=writer) for _ in range(16)]
        signalled = 0.0
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # uvicorn re-raises the signal once it has shut down cleanly, so the exit status is "killed by SIGTERM".
        assert server.process.wait(30) in (0, -signal.SIGTERM)
        stopped_after = time.monotonic() - signalled
        for thread in threads:
            thread.join(10)
        log = server.log()
    assert outcomes["201"] > 0
    # The kernel resets a connection whose handshake completes between the drain's last accept() and the
    # listener's close. While the drain awaited between the two, 16 writers reconnecting until refused hit
    # it now and then (2 of ~25 runs, one connection each); with no await between (serving.py), 0 resets
    # in 24 runs. One is still tolerated: never acknowledged, so nothing is lost, and the bugs this test
    # is for reset 8 (undrained accept queues) and 9 (a last drain that awaited before closing).
    raced = outcomes.pop("broken after SIGTERM: ECONNRESET", 0)
    assert raced <= 1 and set(outcomes) <= {"201", "refused"}, (
        outcomes,
        raced,
        [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line or "Error" in line][:30],
    )
    assert acknowledged <= stored_ids(direct, user)  # every acknowledged write is stored
    assert stopped_after < 10, (stopped_after, log.splitlines()[-40:])
    assert "Shutting down" in log
    assert "Application shutdown complete" in log  # the lifespan ran, and disposed of the pool
    assert log.count("Listener drained") == workers  # each worker is a DrainingServer
    assert "Traceback" not in log


class Closing(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def test_a_drain_accepts_what_was_queued_when_it_began() -> None:
    """Clients that connect again while the drained connections are handed to the loop are not accepted
    by the same drain: in CI, 16 reconnecting writers kept one drain, and so SIGTERM, going for 11.6 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]

    class Reconnecting(DrainingServer):
        def new_protocol(self) -> asyncio.Protocol:
            if len(clients) < 50:
                clients.append(socket.create_connection(("127.0.0.1", port)))  # a client back for more
            return Closing()

    server = Reconnecting(uvicorn.Config(app=Closing))
    try:
        assert asyncio.run(server.hand_over(server.queued(listener))) == 3
        assert len(server.queued(listener)) == 3  # the three that came back, for the next drain
    finally:
        for client in clients:
            client.close()
        listener.close()


def test_several_workers_share_one_database(database_url: str, tmp_path: Path, direct: Engine) -> None:
    user = f"workers-{uuid.uuid4().hex[:8]}"
    with live_server(database_url, tmp_path, workers=2, DB_POOL_SIZE="4", DB_MAX_OVERFLOW="0") as server:
        wait_for_workers(server, 2)
        with ThreadPoolExecutor(8) as pool:
            results = list(
                pool.map(lambda i: server.request("POST", f"/api/{user}/tasks", {"title": f"t{i}"}, user), range(40))
            )
        assert Counter(status for status, _, _ in results) == {201: 40}
        ids = {int(headers["location"].rsplit("/", 1)[1]) for _, headers, _ in results}
        assert len(ids) == 40
        assert ids == stored_ids(direct, user)
        assert server.stop() in (0, -signal.SIGTERM)


def wait_for_workers(server: LiveServer, workers: int) -> None:
    if workers > 1:
        deadline = time.monotonic() + 20
        while len(worker_pids(server)) < workers and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(worker_pids(server)) == workers
        time.sleep(1)  # each has started serving


def worker_pids(server: LiveServer) -> list[int]:
    """The supervisor's spawned worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def raw_request(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # The server may answer and close before the rest arrives; its answer is still readable.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # what it refused to read makes the close a reset; the answer came first
        return received


def test_oversized_request_heads_are_refused_cleanly(database_url: str, tmp_path: Path, direct: Engine) -> None:
    with live_server(database_url, tmp_path) as server:
        for head in (
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
            b"GET /api/health?" + b"q" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        ):
            answer = raw_request(server.port, head)
            assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
            assert b"content-type: application/problem+json" in answer.lower()
            assert b'"status":431' in answer
            assert b"x-request-id: " in answer.lower()
        answer = raw_request(server.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
        assert b"content-type: application/problem+json" in answer.lower()
        assert b'"status":400' in answer
        status, headers, _ = server.request("GET", "/api/health")  # and it still serves
        assert status == 200
        assert "server" not in headers
        assert headers["x-content-type-options"] == "nosniff"


def test_the_head_bound_counts_neither_bodies_nor_heads_under_it(
    database_url: str, tmp_path: Path, direct: Engine
) -> None:
    user = f"bound-{uuid.uuid4().hex[:8]}"
    with live_server(database_url, tmp_path) as server:
        # A head and a 60 KiB body in one write (valid JSON: the padding is whitespace): the body is the
        # app's to bound (64 KiB), never the head bound's.
        body = b'{"title": "big"' + b" " * (60 * 1024) + b"}"
        token = auth(user)["Authorization"]
        head = (
            f"POST /api/{user}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        answer = raw_request(server.port, head + body)
        assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]
        # A 12 KiB head written in pieces over several reads is under the bound and served.
        head = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * (12 * 1024) + b"\r\nConnection: close\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            for start in range(0, len(head), 1024):
                sock.sendall(head[start : start + 1024])
                time.sleep(0.005)
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
        # The same in pieces but over 16 KiB in total is refused, though no single read is large.
        head = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * (20 * 1024)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for start in range(0, len(head), 1024):
                    sock.sendall(head[start : start + 1024])
                    time.sleep(0.005)
            with contextlib.suppress(ConnectionResetError):
                answer = b"".join(iter(lambda: sock.recv(65536), b""))
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:300]
        assert b"connection: close" in answer.lower()
        assert b"cache-control: no-store" in answer.lower()


def test_sigterm_gives_an_accepted_connection_time_for_its_first_request(
    database_url: str, tmp_path: Path, direct: Engine
) -> None:
    with live_server(database_url, tmp_path) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            time.sleep(0.2)  # accepted by the server's loop before the signal
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)  # the request arrives after shutdown began, within the grace
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive asked for
            answer = b"".join(iter(lambda: sock.recv(65536), b""))  # until the server closes
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
        assert b"connection: close" in answer.lower()
        assert server.process.wait(30) in (0, -signal.SIGTERM)


def test_a_pipelined_oversized_head_is_refused_after_the_response_before_it(
    database_url: str, tmp_path: Path, direct: Engine
) -> None:
    """The client pairs responses with requests in order: the request still being answered gets its own
    response first, then the 431 for the oversized head that followed it on the same connection."""
    token = auth("alice")["Authorization"].encode()
    body = b'{"title": "first"}'
    first = (
        b"POST /api/alice/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: " + token + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    oversized = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000  # never finished
    with (
        live_server(database_url, tmp_path) as server,
        socket.create_connection(("127.0.0.1", server.port), 10) as sock,
    ):
        with tasks_write_locked(database_url):
            sock.sendall(first)
            time.sleep(0.3)  # the create is waiting on the lock
            sock.sendall(oversized)
            time.sleep(0.3)
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    status_lines = [line for line in received.split(b"\r\n") if b"HTTP/1.1 " in line]
    assert [line[line.index(b"HTTP/1.1 ") :][:12] for line in status_lines] == [b"HTTP/1.1 201", b"HTTP/1.1 431"]


def test_a_websocket_upgrade_is_an_ordinary_api_request(database_url: str, tmp_path: Path, direct: Engine) -> None:
    head = (
        b"GET /api/alice/tasks HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with live_server(database_url, tmp_path) as server:
        answer = raw_request(server.port, head)
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"content-type: application/problem+json" in answer.lower()
