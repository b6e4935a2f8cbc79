"""A subject process: started in a session of its own, read line by line, its stderr kept
(bounded), and killed with everything it started.

Killing "everything it started": the process leads a new session and process group
(`start_new_session`), so `killpg` reaches every descendant that stays in the group; a
descendant that left it (`setsid`, a daemon's double fork) still carries the environment
variable `CC_EXEC_TOKEN` with this process's token, and `kill_escaped` finds it by
scanning /proc. The limit: a descendant that leaves the group *and* clears its
environment (or changes user) cannot be found, and outlives the check.
"""

from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence

from conformance.exec.wire import ExecStartError, ProtocolError

__all__ = ["SubjectProcess", "StderrTail", "kill_escaped", "start_limit_message", "TOKEN_VARIABLE", "MAX_LINE"]

TOKEN_VARIABLE = "CC_EXEC_TOKEN"
# A line longer than this is not a message: the subject is flooding stdout.
MAX_LINE = 16 * 1024 * 1024


class StderrTail:
    """Drains a pipe on a daemon thread (so the subject never blocks on a full stderr) and
    keeps only its last `limit` bytes."""

    def __init__(self, fd: int, limit: int):
        self._fd = fd
        self._limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.total = 0  # bytes read in all
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="subject-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                try:
                    os.close(self._fd)
                except OSError:
                    pass
                return
            with self._lock:
                self.total += len(chunk)
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size - len(self._chunks[0]) >= self._limit:
                    self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        """The kept tail, decoded (a cut multi-byte character is replaced)."""
        with self._lock:
            data = b"".join(self._chunks)
        return data[-self._limit:].decode("utf-8", "replace")

    def last_line(self, wait: float = 0.0) -> str:
        """The last non-empty stderr line, for one-line messages ('' if none)."""
        if wait:
            self._thread.join(wait)  # a dying process's last words are still in the pipe
        for line in reversed(self.text().splitlines()):
            if line.strip():
                return line.strip()[:300]
        return ""


class SubjectProcess:
    """One started subject process.

    Args:
        argv: the command.
        cwd, env: as for subprocess (env None: the harness's own environment).
        stderr_limit: bytes of stderr kept.

    Raises:
        ExecStartError: the command cannot be started.
    """

    def __init__(self, argv: Sequence[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
                 stderr_limit: int = 64 * 1024):
        self.argv = list(argv)
        self.token = os.urandom(8).hex()
        penv = dict(os.environ if env is None else env)
        penv[TOKEN_VARIABLE] = self.token
        try:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, cwd=cwd, env=penv, bufsize=0,
                                          start_new_session=True, close_fds=True)
        except OSError as e:
            raise ExecStartError(f"cannot start {' '.join(self.argv)!r}: {e.strerror or e}") from None
        self.pid = self.popen.pid
        assert self.popen.stdin is not None and self.popen.stdout is not None and self.popen.stderr is not None
        self._in = self.popen.stdin.fileno()
        self._out = self.popen.stdout.fileno()
        self.stderr = StderrTail(os.dup(self.popen.stderr.fileno()), stderr_limit)
        self.popen.stderr.close()
        self._buf = bytearray()
        self._scan = 0
        self.killed = False

    # ---- lines ---------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Write `data` to the subject's stdin.

        Raises:
            ProtocolError: the subject closed its stdin (it exited).
        """
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._in, view)
                view = view[n:]
        except (BrokenPipeError, OSError):
            raise ProtocolError(self.exit_message("while the harness was writing to it")) from None

    def read_line(self, deadline: float | None = None) -> bytes | None:
        """The next line of stdout without its newline; None at end of file.

        Raises:
            TimeoutError: `deadline` (time.monotonic()) passed first.
            ProtocolError: a line longer than MAX_LINE.
        """
        buf = self._buf
        while True:
            i = buf.find(b"\n", self._scan)
            if i >= 0:
                line = bytes(buf[:i])
                del buf[:i + 1]
                self._scan = 0
                return line
            self._scan = len(buf)
            if len(buf) > MAX_LINE:
                raise ProtocolError(f"the subject sent a line longer than {MAX_LINE // (1024 * 1024)} MiB")
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._out], [], [], left)[0]:
                    raise TimeoutError
            try:
                chunk = os.read(self._out, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                if buf:
                    # A last line without its newline: still a line.
                    line = bytes(buf)
                    buf.clear()
                    self._scan = 0
                    return line
                return None
            buf += chunk

    # ---- life and death --------------------------------------------------------------------

    def exit_message(self, when: str) -> str:
        """One line: the subject process is gone (or going), why, and its last stderr line."""
        code = None
        try:
            code = self.popen.wait(0.5)
        except subprocess.TimeoutExpired:
            pass
        if self.killed:
            what = "was killed by the harness"
        elif code is None:
            what = "closed its stdout"
        elif code < 0:
            try:
                what = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                what = f"was killed by signal {-code}"
        else:
            what = f"exited with status {code}"
        last = self.stderr.last_line(wait=0.2)
        return f"the subject process {what} {when}" + (f"; its last stderr line: {last!r}" if last else "")

    def alive(self) -> bool:
        return not self.killed and self.popen.poll() is None

    def kill(self, *, scan: bool = False) -> None:
        """Kill the process and its process group (idempotent); with `scan`, also every
        process that carries its token (descendants that left the group)."""
        if not self.killed:
            self.killed = True
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.popen.kill()
            except OSError:
                pass
            for f in (self.popen.stdin, self.popen.stdout):
                try:
                    f.close()  # type: ignore[union-attr]
                except OSError:
                    pass
            # Reaped on another thread: a dying process can take tens of milliseconds to go,
            # and a crash recovery need not wait for it.
            _reaper.put(self.popen)
        if scan:
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
            kill_escaped((self.token,))

    def __repr__(self) -> str:
        return f"<SubjectProcess {self.pid} {' '.join(self.argv)!r}{' killed' if self.killed else ''}>"


class _Reaper:
    """Waits for killed processes on one daemon thread, so they do not stay zombies."""

    def __init__(self) -> None:
        self._jobs: "queue.SimpleQueue[subprocess.Popen[bytes]]" = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._jobs = queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()

    def put(self, popen: "subprocess.Popen[bytes]") -> None:
        self._jobs.put(popen)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="subject-reaper", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            popen = self._jobs.get()
            try:
                popen.wait(10)
            except subprocess.TimeoutExpired:
                pass


_reaper = _Reaper()


def kill_escaped(tokens: Sequence[str]) -> list[int]:
    """SIGKILL every process of this user whose environment carries one of `tokens`
    (descendants of subject processes, wherever they went); return their pids."""
    if not tokens:
        return []
    needles = [f"{TOKEN_VARIABLE}={t}\0".encode() for t in tokens]
    me = os.getpid()
    killed = []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                data = f.read() + b"\0"
        except OSError:
            continue  # gone, or another user's
        if any(n in data for n in needles):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
    return killed


def start_limit_message(argv: Sequence[str], seconds: float) -> str:
    return (f"{' '.join(argv)!r} did not send its hello within {seconds:g} s "
            "(the first line on stdout must be the protocol's hello; see docs/PROTOCOL.md)")

