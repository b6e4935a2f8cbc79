"""redis-py clients for the harness and for subjects: no silent retries, builtin errors.

Two things make a plain ``redis.Redis`` unsuitable as ``env.redis``:

* redis-py retries a command after a connection error by default. A retried XADD or
  HINCRBY is applied twice, so a fault would be hidden *and* change the outcome. Retries
  are switched off; retrying is the subject's decision.
* redis-py's errors do not derive from the builtins the env contract promises. Errors are
  translated at the outermost call: a failure to connect (nothing was sent) becomes
  ``StoreUnavailable``; any other connection or timeout error (the command may have run)
  becomes ``StoreTimeout``. Subjects catch ``ConnectionError``/``TimeoutError`` only.

Every command, including a pipeline's ``execute`` and a Lua script, also passes through
an optional *interceptor* ``(name, call) -> result``: the harness's hook to make each
Redis call a scheduler step and to inject faults into it (raise before ``call()`` for
"down", call then raise ``StoreTimeout`` for an ambiguous outcome).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from conformance.errors import StoreTimeout, StoreUnavailable

__all__ = ["Interceptor", "connect_redis", "is_cluster_url", "translate_errors"]

Interceptor = Callable[[str, Callable[[], Any]], Any]


def _direct(name: str, call: Callable[[], Any]) -> Any:
    return call()


def translate_errors(call: Callable[[], Any]) -> Any:
    """Run `call`, mapping redis-py connection/timeouts to the contract's builtin errors."""
    import redis.exceptions as rx

    try:
        return call()
    except rx.TimeoutError as exc:
        if "connecting" in str(exc):
            raise StoreUnavailable(f"redis: {exc}") from exc
        raise StoreTimeout(f"redis: {exc}") from exc
    except (rx.AuthenticationError, rx.AuthenticationWrongNumberOfArgsError) as exc:
        raise StoreUnavailable(f"redis: authentication failed ({exc}); put the password in "
                               "the URL: redis://:PASSWORD@HOST:PORT/0") from exc
    except rx.ConnectionError as exc:
        # "Error 111 connecting to ...": refused before anything was sent.
        if "connecting to" in str(exc) or "Connection refused" in str(exc):
            raise StoreUnavailable(f"redis: {exc}") from exc
        raise StoreTimeout(f"redis: {exc}") from exc


def _classes() -> tuple[type, type]:
    # Built lazily: redis-py is an optional extra, imported only when a backend is used.
    import redis

    class _Mixin:
        _cc_interceptor: Interceptor = staticmethod(_direct)  # type: ignore[assignment]

        def execute_command(self, *args: Any, **options: Any) -> Any:
            parent = super().execute_command  # type: ignore[misc]
            return self._cc_interceptor(
                str(args[0]), lambda: translate_errors(lambda: parent(*args, **options)))

        def pipeline(self, *args: Any, **kwargs: Any) -> Any:
            pipe = super().pipeline(*args, **kwargs)  # type: ignore[misc]
            execute = pipe.execute
            interceptor = self._cc_interceptor

            @functools.wraps(execute)
            def intercepted(*a: Any, **k: Any) -> Any:
                return interceptor("EXEC", lambda: translate_errors(lambda: execute(*a, **k)))

            pipe.execute = intercepted
            return pipe

    class Client(_Mixin, redis.Redis):  # type: ignore[misc]
        pass

    class ClusterClient(_Mixin, redis.RedisCluster):  # type: ignore[misc]
        pass

    return Client, ClusterClient


@functools.lru_cache(maxsize=None)
def _cached_classes() -> tuple[type, type]:
    return _classes()


def is_cluster_url(url: str, *, timeout: float = 2.0) -> bool:
    """Whether the server at `url` runs in cluster mode (INFO cluster)."""
    import redis

    probe = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(translate_errors(lambda: probe.info("cluster")).get("cluster_enabled"))
    finally:
        probe.close()


def connect_redis(url: str, *, cluster: bool | None = None, interceptor: Interceptor | None = None,
                  timeout: float = 5.0) -> Any:
    """A ``decode_responses=True`` client for `url` (``redis://``, ``rediss://``, with a
    password if the URL has one), a cluster client when the server is a cluster node.

    Raises:
        StoreUnavailable: the server cannot be reached.
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client_cls, cluster_cls = _cached_classes()
    if cluster is None:
        cluster = is_cluster_url(url, timeout=timeout)
    common: dict[str, Any] = dict(
        decode_responses=True,
        # Lone surrogates are valid Python str; let them round-trip instead of failing.
        encoding_errors="surrogatepass",
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    if cluster:
        client = translate_errors(lambda: cluster_cls.from_url(url, **common))
    else:
        client = client_cls.from_url(url, retry=Retry(NoBackoff(), 0), **common)
    if interceptor is not None:
        client._cc_interceptor = interceptor
    translate_errors(client.ping)
    return client
