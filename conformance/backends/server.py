"""Local redis-server processes for a run: one standalone server, or a 3-master cluster.

The harness owns these processes so that it can inject *real* faults into them: SIGKILL
and restart, with ``appendonly yes`` + ``appendfsync always`` (nothing acknowledged is
lost) or with no persistence at all (everything is lost). Servers listen on loopback only,
on a free port, in a private temporary directory, and are always stopped by ``stop()``.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from typing import Literal
from urllib.parse import quote

import attrs

__all__ = ["RedisCluster", "RedisServer", "ServerUnavailable", "TlsFiles", "free_port", "port_is_free", "redis_server_path"]

Persistence = Literal["none", "aof-always"]


class ServerUnavailable(RuntimeError):
    """A server could not be started or reached; the message is one line for the user."""


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` of 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, cluster_bus: bool = False) -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    A cluster node also listens on port + 10000 (its bus), so for it the port is drawn
    below 55536 with the bus port free as well; otherwise the kernel picks it.
    """
    if not cluster_bus:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 55500)
        if port_is_free(port) and port_is_free(port + 10000):
            return port
    raise ServerUnavailable("no free port pair (port, port+10000) for a cluster node")


def redis_server_path() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise ServerUnavailable(
            "redis-server is not on PATH: install it (apt-get install redis-server) "
            "or pass --redis-url redis://HOST:PORT"
        )
    return path


@attrs.frozen
class TlsFiles:
    """PEM files for a TLS-only server: its certificate and key, and the CA that signed
    them (which clients pass as ``ssl_ca_certs``)."""

    cert: str
    key: str
    ca: str


def _ping(port: int, timeout: float = 0.2, tls: TlsFiles | None = None) -> bool:
    # A raw RESP PING keeps this module free of redis-py, so `server` can be used to
    # discover servers before the optional dependency is checked.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            s = raw
            if tls is not None:
                s = ssl.create_default_context(cafile=tls.ca).wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            # -NOAUTH: alive, it just wants the password.
            return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:  # ssl.SSLError is one too: a server still starting its TLS listener
        return False


@attrs.define(eq=False)
class RedisServer:
    """One redis-server on 127.0.0.1:port.

    Example::

        server = RedisServer(persistence="aof-always").start()
        try: ... server.kill(); server.start() ...
        finally: server.stop()
    """

    persistence: Persistence = "none"
    cluster: bool = False
    password: str | None = None
    # TLS only: the port speaks TLS and no plain port is open (``--port 0``).
    tls: TlsFiles | None = None
    port: int = attrs.field(
        default=attrs.Factory(lambda self: free_port(cluster_bus=self.cluster), takes_self=True))
    startup_timeout: float = 10.0
    directory: str = attrs.field(factory=lambda: tempfile.mkdtemp(prefix="cc-redis-"))
    _process: subprocess.Popen[bytes] | None = attrs.field(default=None, init=False)

    @property
    def url(self) -> str:
        """The URL a client connects with: ``rediss://`` with the CA to verify the server
        against when the server speaks TLS (the password, if any, is not in it)."""
        if self.tls is not None:
            return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={quote(self.tls.ca)}"
        return f"redis://127.0.0.1:{self.port}/0"

    def _argv(self) -> list[str]:
        ports = ["--port", str(self.port)]
        if self.tls is not None:
            ports = ["--port", "0", "--tls-port", str(self.port),
                     "--tls-cert-file", self.tls.cert, "--tls-key-file", self.tls.key,
                     "--tls-ca-cert-file", self.tls.ca, "--tls-auth-clients", "no"]
        argv = [
            redis_server_path(),
            *ports,
            "--bind", "127.0.0.1",
            "--dir", self.directory,
            "--save", "",
            "--daemonize", "no",
            "--logfile", os.path.join(self.directory, "redis.log"),
        ]
        if self.persistence == "aof-always":
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        if self.cluster:
            argv += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", os.path.join(self.directory, "nodes.conf"),
                "--cluster-node-timeout", "2000",
            ]
        return argv

    def start(self) -> RedisServer:
        """Start (or restart after `kill`) the server; returns once it answers PING."""
        if self.running:
            return self
        self._process = subprocess.Popen(
            self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of the harness must not kill it mid-test
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerUnavailable(
                    f"redis-server exited at start (code {self._process.returncode}); "
                    f"see {self.directory}/redis.log"
                )
            if _ping(self.port, tls=self.tls):
                return self
            time.sleep(0.02)
        self.stop()
        raise ServerUnavailable(f"redis-server did not answer on port {self.port} within "
                                f"{self.startup_timeout:.0f} s")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (the benchmark pins it to a CPU)."""
        return self._process.pid if self.running and self._process is not None else None

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no AOF rewrite; what survives is what was fsynced."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server and remove its directory (idempotent)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        shutil.rmtree(self.directory, ignore_errors=True)


@attrs.define(eq=False)
class RedisCluster:
    """A local Redis Cluster of `masters` masters (no replicas), created with redis-cli."""

    masters: int = 3
    nodes: list[RedisServer] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, timeout: float = 30.0) -> RedisCluster:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise ServerUnavailable("redis-cli is not on PATH: it is needed to create a cluster")
        try:
            for _ in range(self.masters):
                self.nodes.append(RedisServer(cluster=True).start())
            addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
            done = subprocess.run(
                [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0",
                 "--cluster-yes"],
                check=False, capture_output=True, timeout=timeout,
            )
            if done.returncode != 0:
                raise ServerUnavailable("redis-cli --cluster create failed: "
                                        + done.stdout.decode(errors="replace").strip()[-200:])
            self._wait_ok(cli, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ok(self, cli: str, timeout: float) -> None:
        # `cluster create` returns before every node has seen the others' slot claims.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [
                subprocess.run([cli, "-p", str(n.port), "cluster", "info"],
                               check=False, capture_output=True, timeout=5).stdout
                for n in self.nodes
            ]
            if all(b"cluster_state:ok" in s for s in states):
                return
            time.sleep(0.1)
        raise ServerUnavailable(f"the Redis cluster did not reach state ok within {timeout:.0f} s")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes.clear()
