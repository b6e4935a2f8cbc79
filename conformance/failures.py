"""Which exception escaping the subject is a store failure the harness injected, and which
is the subject's own error: the one classifier every path that runs subject code uses
(a sequential call, a client of a concurrent batch, a background worker).

The answer decides a verdict. A store failure makes the operation *failed* (a failed
write is indeterminate: the contract allows it to take effect or not); a subject error
breaks the `subject-error` clause at once.

An exception is a store failure when, following its chain the way Python's traceback
shows it (`__cause__` when set, else `__context__` unless suppressed by `raise ... from
None`), one link

1. is an instance of the harness's store errors, `StoreUnavailable` / `StoreTimeout`:
   only the harness's store layer raises them (the fault flags, and the real backends,
   which translate a real server's connection and timeout errors into them); or
2. was marked with `injected(error)`: how an interceptor that must raise a client
   library's own exception (redis-py's `ConnectionError`, a DB-API `OperationalError`,
   neither of them a builtin) says "this one is ours". The mark is on that very object,
   so it is identity, not type: the same library's error raised by anything else is
   not marked.

Following the chain is what lets a subject (or its client library) wrap a failure in
its own exception type (`raise CacheDown(...) from e`, SQLAlchemy's `OperationalError`
around the DB-API's) and still be judged on what the store did.

3. Fallback, kept so that no verdict changes: a `ConnectionError` or `TimeoutError`
   the harness did not inject (a subject's own socket, its own timeout) also counts as a
   store failure, as it did when every such error was caught by type. The subject
   contract promises only those two builtins to subjects (docs/ENVIRONMENT.md), and
   subjects written against it re-raise them as they come.

Anything else is the subject's error. Harness signals (`HarnessSignal`: a crash
unwinding, a liveness failure) are neither: callers let them through before asking.
"""

from __future__ import annotations

import enum
import os
import sysconfig
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from model import ErrorPlace, SourceFrame

from conformance.errors import HarnessSignal, StoreTimeout, StoreUnavailable

__all__ = ["Failure", "classify", "injected", "is_injected", "chain", "place_of"]

E = TypeVar("E", bound=BaseException)

# The attribute that marks an injected error. An exception cannot be weakly referenced,
# and a registry of strong references would keep every traceback (and the frames it
# holds) alive for the whole check: a mark on the object dies with it.
_MARK = "__cache_conformance_injected__"


class Failure(enum.Enum):
    """How an exception that escaped a subject call is judged."""

    STORE = "store failure"      # the operation failed; a failed write is indeterminate
    SUBJECT = "subject error"    # breaks the subject-error clause


def injected(error: E) -> E:
    """Mark `error` as a store failure the harness injects, and return it.

    Example (an interceptor that raises what redis-py raises)::

        raise injected(redis.exceptions.ConnectionError("cache is down (injected fault)"))
    """
    try:
        setattr(error, _MARK, True)
    except (AttributeError, TypeError) as e:  # an exception type with __slots__ and no __dict__
        raise TypeError(f"cannot mark {type(error).__name__} as injected (it takes no attributes); "
                        "raise it `from` a StoreUnavailable or StoreTimeout instead") from e
    return error


def is_injected(error: BaseException) -> bool:
    """Whether `error` itself (not its chain) is a store failure the harness injected."""
    return isinstance(error, (StoreUnavailable, StoreTimeout)) or getattr(error, _MARK, False) is True


def chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what caused it, as Python's traceback shows the chain: `__cause__` when
    set, else `__context__` unless `raise ... from None` suppressed it. Ends on a cycle."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        yield link
        seen.add(id(link))
        if link.__cause__ is not None:
            link = link.__cause__
        elif link.__suppress_context__:
            link = None
        else:
            link = link.__context__


def classify(error: BaseException) -> Failure:
    """Whether `error`, escaping a subject call, is a store failure or the subject's error
    (see the module's docstring for the rules and why).

    Raises:
        TypeError: `error` is a harness signal; callers let those through first.
    """
    if isinstance(error, HarnessSignal):
        raise TypeError(f"{type(error).__name__} is a harness signal, not a subject's failure")
    if any(is_injected(link) for link in chain(error)):
        return Failure.STORE
    if isinstance(error, (ConnectionError, TimeoutError)):
        return Failure.STORE  # rule 3, the fallback
    return Failure.SUBJECT


# The harness's own code: a frame there is never the subject's, even when the target's
# top-level package is an ancestor of it (a checkout run in place). Paths, not imports:
# conformance does not import cache_conformance.
_ROOT = Path(__file__).resolve().parent.parent
_HARNESS = tuple(str(_ROOT / d) for d in ("conformance", "model", "cache_conformance")) + (
    str(_ROOT / "pytest_cache_conformance.py"),)
# The standard library and site-packages: a library's frame, unless the subject itself is
# installed there (then its own directory is the finer answer, see `_within`).
_LIBRARIES = tuple({str(Path(p).resolve()) for k, p in sysconfig.get_paths().items()
                    if k in ("stdlib", "platstdlib", "purelib", "platlib")})


def _within(path: str, roots: Sequence[str]) -> str | None:
    # The longest root `path` lies under (or is), or None.
    best = None
    for root in roots:
        inside = path == root or path.startswith(root.rstrip(os.sep) + os.sep)
        if inside and (best is None or len(root) > len(best)):
            best = root
    return best


def place_of(error: BaseException, own: Sequence[str]) -> ErrorPlace | None:
    """Where `error`, escaping a subject call, came from: the innermost frame of its
    traceback in the subject's own code (`own`: files and directories, as
    `conformance.target.own_code` gives them), and the frame that raised it if that is
    elsewhere. None when no frame of the subject's own code is on it (a subject in
    another language, a target with no source).

    Only the exception's own traceback is read (not its chain): a subject that wraps a
    library's error (`raise MyError(...) from e`) raised the one reported, at its line.
    """
    if not own:
        return None
    roots = [str(Path(r)) for r in own]
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return None

    def is_own(file: str) -> bool:
        path = str(Path(file).resolve()) if file and not file.startswith("<") else file
        root = _within(path, roots)
        if root is None or _within(path, _HARNESS) is not None:
            return False
        # Under a library directory that is below the subject's own root (a virtualenv
        # inside the project): a library's.
        lib = _within(path, _LIBRARIES)
        return lib is None or len(lib) <= len(root)

    mine = next((f for f in reversed(frames) if is_own(f.filename)), None)
    if mine is None:
        return None
    last = frames[-1]
    subject = SourceFrame(mine.filename, mine.lineno or 0, mine.name)
    raised = None if last is mine else SourceFrame(last.filename, last.lineno or 0, last.name)
    return ErrorPlace(subject, raised)
