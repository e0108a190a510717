"""`--workers N`: uvicorn's supervisor, with workers that drain like the single process does.

uvicorn's supervisor runs a plain `uvicorn.Server` in each worker, which closes its listener without
accepting what is queued, and keeps its own copy of the listening socket open until every worker has
exited: the kernel goes on completing handshakes that nobody accepts, and resets them when the
supervisor exits (16 of 16 writers saw ECONNRESET at SIGTERM with `--workers 2`, none with one process).
Here each worker is a `DrainingServer`, and the supervisor closes its copy before it signals them, so
the last worker to close the socket has just drained its queue (no await between; see serving.py).
Measured with tests/runtime/test_serving.py's 16 writers: 53 runs with two workers, two of which saw a
single reset, while the drain still awaited between its last accept and the close; none in 12 runs since."""

from __future__ import annotations

import contextlib

import uvicorn
from uvicorn.supervisors import multiprocess

from handlers.runtime.serving import DrainingServer


class DrainingProcess(multiprocess.Process):
    """A worker whose server is a DrainingServer (uvicorn makes a plain one in `Process.server`)."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = DrainingServer(config=self.config)
        return self._server


class DrainingMultiprocess(multiprocess.Multiprocess):
    def terminate_all(self) -> None:
        # Called once, when the supervisor is told to stop: from now on only the workers hold the socket.
        for sock in self.sockets:
            sock.close()
        super().terminate_all()


def serve_workers(config: uvicorn.Config) -> int:
    sockets = [config.bind_socket()]
    # The supervisor makes its workers as `multiprocess.Process(...)` (start, restarts, SIGTTIN): the
    # module's name is pointed at the draining class for as long as it runs. Pickled by reference, so
    # each spawned worker unpickles a DrainingProcess too.
    original, multiprocess.Process = multiprocess.Process, DrainingProcess  # type: ignore[misc]
    try:
        with contextlib.suppress(KeyboardInterrupt):
            DrainingMultiprocess(config, sockets=sockets).run()
    finally:
        multiprocess.Process = original  # type: ignore[misc]
    return 0
