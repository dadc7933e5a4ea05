"""Serving the local cloud: its HTTP server on 127.0.0.1, in this process (a background thread) or as
the detached process that `lifecycle.start_detached` starts.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import pyarrow
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

from . import lifecycle
from .home import credentials, labkit_home
from .lifecycle import HOST, LocalCloudError, ServerInfo, check_port_free, forget, record


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per AWS call is noise for learners
        pass


def make_local_server(port: int | None = None) -> BaseWSGIServer:
    """The local cloud's HTTP server on 127.0.0.1, on `port` (which must be free). With no port asked
    for: on 4580, else on any free port, so that a second learner on a shared host (or a second local
    cloud starting at the same moment) still gets one."""
    from .registry import build_app

    app = build_app()  # first: its imports take a moment, in which another process may take a port
    if port is None:
        try:
            check_port_free(lifecycle.DEFAULT_PORT)
            port = lifecycle.DEFAULT_PORT
        except LocalCloudError:
            port = 0
    else:
        check_port_free(port)
    return make_server(HOST, port, app, threaded=True, request_handler=_QuietHandler)


class _WithoutPandas:
    """An import finder that says pandas is not installed. pyarrow imports pandas (about 290 modules,
    30 MiB) the first time it makes an array from Python values, only to ask whether they are pandas
    objects; the local cloud never makes any. (In a process of its own: tests and `labkit run` run an
    in-process local cloud beside code that does use pandas.)"""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def serve_forever(port: int | None = None) -> None:
    """Run the local cloud in this process until SIGTERM/SIGINT; record it in the state file."""
    sys.meta_path.insert(0, _WithoutPandas)
    # Arrow's own allocator (mimalloc) keeps what the records' tables freed for reuse (up to 15 MiB
    # measured); the system's gives it back (an RSS 11 MiB lower at the end of a lab, bench_memory.py)
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    server = make_local_server(port)
    info = ServerInfo(port=server.server_port, pid=os.getpid())
    record(info)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"AWS_ENDPOINT_URL={info.endpoint}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        forget(info)


class InProcessServer:
    """The local cloud on a background thread of this process (tests, and `labkit run` without a
    running local cloud). Port 0 picks a free port; None, 4580 if it is free (else a free port)."""

    def __init__(self, port: int | None = 0):
        self.home = labkit_home()  # the local cloud of this LABKIT_HOME: it answers its credentials
        self.credentials = credentials()
        self._server = make_local_server(port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.info = ServerInfo(port=self._server.server_port, pid=os.getpid())

    @property
    def endpoint(self) -> str:
        return self.info.endpoint

    def __enter__(self) -> InProcessServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
