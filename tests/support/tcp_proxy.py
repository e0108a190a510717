"""A TCP proxy the tests put between the service and PostgreSQL, to cut, stall and restore the link
while requests are in flight."""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`. `cut()` resets every connection and refuses new ones (the
    database is gone); `stall()` keeps connections open but forwards nothing (a hung network or a
    suspended server); `restore()` forwards again. One thread, one selector: small and predictable."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self.mode = "open"
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.peers: dict[socket.socket, socket.socket] = {}
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self.thread.start()

    def cut(self) -> None:
        with self.lock:
            self.mode = "cut"
            for sock in list(self.peers):
                self._close(sock, reset=True)

    def stall(self) -> None:
        with self.lock:
            self.mode = "stall"

    def restore(self) -> None:
        with self.lock:
            self.mode = "open"

    def close(self) -> None:
        self.stopping = True
        self.thread.join(5)
        with self.lock:
            for sock in list(self.peers):
                self._close(sock)
        self.listener.close()
        self.selector.close()

    def _run(self) -> None:
        while not self.stopping:
            for key, _ in self.selector.select(timeout=0.05):
                with self.lock:
                    if key.fileobj is self.listener:
                        self._accept()
                    elif self.mode == "open" and key.fileobj in self.peers:
                        self._forward(key.fileobj)  # type: ignore[arg-type]
            if self.mode == "stall":  # nothing is read, so the selector would spin on readable sockets
                threading.Event().wait(0.05)

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        if self.mode == "cut":
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            _reset(client)
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
        self.peers[client], self.peers[upstream] = upstream, client

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(sock)
            return
        try:
            self.peers[sock].setblocking(True)
            self.peers[sock].sendall(data)
            self.peers[sock].setblocking(False)
        except OSError:
            self._close(sock)

    def _close(self, sock: socket.socket, reset: bool = False) -> None:
        other = self.peers.pop(sock, None)
        for s in (sock, other):
            if s is None:
                continue
            self.peers.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(s)
            if reset:
                _reset(s)
            else:
                s.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, as a crashed server or a dropped NAT entry looks to the peer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
