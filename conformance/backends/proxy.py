"""A fault-injecting TCP proxy between a subject and Redis or PostgreSQL (loopback only).

Faults:

* ``cut()``       every open connection is closed and the listener too: a command in
                  flight has an unknown outcome, a new connection is refused (nothing sent);
* ``delay(s)``    each chunk is forwarded `s` seconds late, in both directions;
* ``blackhole()`` connections stay open but nothing is forwarded: clients time out;
* ``heal()``      back to forwarding.

It runs in daemon threads and binds 127.0.0.1 only: it is a test instrument, never a
listener on a real interface.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Literal

__all__ = ["FaultProxy"]

Mode = Literal["pass", "cut", "blackhole"]
_TICK = 0.02  # how often a pump re-reads the mode


class FaultProxy:
    """Example::

        proxy = FaultProxy("127.0.0.1", server.port).start()
        client = redis.Redis(port=proxy.port)
        proxy.cut(); ...; proxy.heal()
        proxy.stop()
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        if target_host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the fault proxy only forwards to loopback, not {target_host!r}")
        self.target = (target_host, target_port)
        self.mode: Mode = "pass"
        self.latency = 0.0
        self._listener = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._stopped = threading.Event()

    def url(self, scheme: str = "redis", path: str = "/0", user: str = "") -> str:
        at = f"{user}@" if user else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}{path}"

    # --- faults -------------------------------------------------------------------------
    def cut(self) -> None:
        with self._lock:
            self.mode = "cut"
            doomed, self._sockets = self._sockets, set()
        _close(self._listener)
        for s in doomed:
            _close(s)

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def delay(self, seconds: float) -> None:
        self.latency = float(seconds)

    def heal(self) -> None:
        if self.mode == "cut" and not self._stopped.is_set():
            self._listener = self._listen(self.port)  # same port: clients reconnect
            self._listener.listen(64)
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        self.mode = "pass"
        self.latency = 0.0

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        return listener

    # --- plumbing -----------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        self._listener.listen(64)
        threading.Thread(target=self._accept, args=(self._listener,), name=f"fault-proxy:{self.port}",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        _close(self._listener)
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.mode == "cut":
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)  # the server itself is down: the client sees a reset
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self._stopped.is_set():
                readable, _, _ = select.select([src], [], [], _TICK)
                if not readable:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                if self.mode == "blackhole":
                    continue  # swallowed: the peer waits for an answer that never comes
                if self.latency:
                    time.sleep(self.latency)
                dst.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._sockets -= {src, dst}
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
