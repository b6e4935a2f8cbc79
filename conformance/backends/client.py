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
an optional *interceptor* ``(name, call, commands) -> result``: the harness's hook to make
each Redis call a scheduler step and to inject faults into it (raise before ``call()`` for
"down", call then raise ``StoreTimeout`` for an ambiguous outcome). ``commands`` holds the
argument tuples about to be sent: the command's own, or every command of a pipeline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from conformance.errors import StoreTimeout, StoreUnavailable

__all__ = ["Interceptor", "direct", "set_interceptor", "connect_redis", "is_cluster_url", "translate_errors"]

Interceptor = Callable[[str, Callable[[], Any], tuple[tuple[Any, ...], ...]], Any]


def direct(name: str, call: Callable[[], Any], commands: tuple[tuple[Any, ...], ...] = ()) -> Any:
    """The interceptor of a client nobody hooks: the command runs as it is."""
    return call()


def set_interceptor(client: Any, interceptor: Interceptor | None) -> None:
    """Route every command of `client` (made by `connect_redis`) through `interceptor`
    (None: `direct`); for a client shared across runs, each run sets its own."""
    client._cc_interceptor = interceptor or direct


def translate_errors(call: Callable[[], Any]) -> Any:
    """Run `call`, mapping redis-py connection/timeouts to the contract's builtin errors."""
    try:
        return call()
    except Exception as exc:
        raise _translated(exc) from exc


@functools.cache
def _redis_exceptions() -> Any:
    import redis.exceptions as rx

    return rx


def _translated(exc: Exception) -> Exception:
    """The contract's error for a redis-py error (`exc` itself when it is not one)."""
    rx = _redis_exceptions()
    if isinstance(exc, rx.TimeoutError):
        if "connecting" in str(exc):
            return StoreUnavailable(f"redis: {exc}")
        return StoreTimeout(f"redis: {exc}")
    if isinstance(exc, (rx.AuthenticationError, rx.AuthenticationWrongNumberOfArgsError)):
        return StoreUnavailable(f"redis: authentication failed ({exc}); put the password in "
                                "the URL: redis://:PASSWORD@HOST:PORT/0")
    if isinstance(exc, rx.ConnectionError):
        # "Error 111 connecting to ...": refused before anything was sent.
        if "connecting to" in str(exc) or "Connection refused" in str(exc):
            return StoreUnavailable(f"redis: {exc}")
        return StoreTimeout(f"redis: {exc}")
    return exc


def _classes() -> tuple[type, type]:
    # Built lazily: redis-py is an optional extra, imported only when a backend is used.
    import redis

    class _Mixin:
        _cc_interceptor: Interceptor = staticmethod(direct)  # type: ignore[assignment]

        def execute_command(self, *args: Any, **options: Any) -> Any:
            parent = super().execute_command  # type: ignore[misc]
            if self._cc_interceptor is direct:
                # No harness hook (LiveEnv, the benchmark): the same translation without
                # two closures per command on the hot path.
                try:
                    return parent(*args, **options)
                except Exception as exc:
                    translated = _translated(exc)
                    if translated is exc:
                        raise
                    raise translated from exc
            return self._cc_interceptor(
                str(args[0]), lambda: translate_errors(lambda: parent(*args, **options)), (args,))

        def pipeline(self, *args: Any, **kwargs: Any) -> Any:
            pipe = super().pipeline(*args, **kwargs)  # type: ignore[misc]
            execute = pipe.execute
            interceptor = self._cc_interceptor

            @functools.wraps(execute)
            def intercepted(*a: Any, **k: Any) -> Any:
                commands = tuple(command.args if hasattr(command, "args") else command[0]
                                 for command in pipe.command_stack)
                return interceptor("EXEC", lambda: translate_errors(lambda: execute(*a, **k)),
                                   commands)

            pipe.execute = intercepted
            return pipe

    class Client(_Mixin, redis.Redis):  # type: ignore[misc]
        pass

    class ClusterClient(_Mixin, redis.RedisCluster):  # type: ignore[misc]
        pass

    return Client, ClusterClient


@functools.cache
def _cached_classes() -> tuple[type, type]:
    return _classes()


class _SurrogatePacker:
    """hiredis' ``pack_command`` encodes str arguments as strict UTF-8 and ignores the
    client's ``encoding_errors``: a key or value with a lone surrogate would fail to send.
    Such a command is packed again with every str encoded with ``surrogatepass``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def pack(self, *args: Any) -> Any:
        try:
            return self.inner.pack(*args)
        except UnicodeEncodeError:
            return self.inner.pack(*(a.encode("utf-8", "surrogatepass") if isinstance(a, str)
                                     else a for a in args))


@functools.cache
def _connection_classes() -> tuple[type, type]:
    """Connection classes whose command packer honours surrogatepass (with hiredis; without
    it redis-py's own packer already uses the client's encoder)."""
    import redis.connection as rc

    class _Packing:
        def _construct_command_packer(self, packer: Any) -> Any:
            chosen = super()._construct_command_packer(packer)  # type: ignore[misc]
            if isinstance(chosen, rc.HiredisRespSerializer):
                return _SurrogatePacker(chosen)
            return chosen

    class Connection(_Packing, rc.Connection):  # type: ignore[misc]
        pass

    class SSLConnection(_Packing, rc.SSLConnection):  # type: ignore[misc]
        pass

    return Connection, SSLConnection


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
        ValueError: the URL holds an option that redis-py does not take, or the server
            refuses what it asks for (a database number it does not have, an ACL).
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client_cls, cluster_cls = _cached_classes()
    common: dict[str, Any] = dict(
        decode_responses=True,
        # Lone surrogates are valid Python str; let them round-trip instead of failing.
        encoding_errors="surrogatepass",
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    plain, tls = _connection_classes()
    common["connection_class"] = tls if url.startswith("rediss://") else plain
    try:
        if cluster is None:
            cluster = is_cluster_url(url, timeout=timeout)
        if cluster:
            client = translate_errors(lambda: cluster_cls.from_url(url, **common))
        else:
            client = client_cls.from_url(url, retry=Retry(NoBackoff(), 0), **common)
        if interceptor is not None:
            set_interceptor(client, interceptor)
        translate_errors(client.ping)
    except TypeError as exc:
        # redis-py passes unknown URL query options to the connection class as keyword
        # arguments, and finds out only when it connects (ssl_* on a redis:// URL).
        raise ValueError(f"an option of the Redis URL is not taken here ({exc}); "
                         "ssl_* options need a rediss:// URL") from None
    except _redis_exceptions().ResponseError as exc:
        # Sent at connect: SELECT of the URL's database, INFO, PING (an ACL may refuse).
        raise ValueError(f"the server refused the connection's set-up: {exc}") from None
    return client
