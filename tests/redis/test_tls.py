"""``rediss://``: the stores, the harness and the Redis implementations over TLS, with a
password, against a redis-server that listens on a TLS port only (no plain port open),
so a check that passes here cannot have gone around TLS."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

import pytest

from conformance import run_check
from conformance.backends import BackendUnavailable, open_backend
from conformance.backends.harness import RedisBackend
from conformance.backends.server import RedisServer, TlsFiles
from tests.redis.servers import serving

redis = pytest.importorskip("redis", reason="redis-py is not installed: pip install 'cache-conformance[redis]'")
trustme = pytest.importorskip("trustme", reason="trustme is not installed: pip install 'cache-conformance[test]'")

# One worker runs the module, so its TLS server (a module fixture) starts once.
pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.xdist_group("redis-tls")]

PASSWORD = "s3cr:t/pw"  # characters that must be quoted in a URL


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    files = TlsFiles(cert=str(d / "cert.pem"), key=str(d / "key.pem"), ca=str(d / "ca.pem"))
    ca.cert_pem.write_to_path(files.ca)
    cert.private_key_pem.write_to_path(files.key)
    cert.cert_chain_pems[0].write_to_path(files.cert)
    yield from serving(RedisServer(password=PASSWORD, tls=files), "TLS redis-server")


def _url(server: RedisServer, password: str | None = PASSWORD, ca: bool = True, scheme: str = "rediss") -> str:
    auth = f":{quote(password, safe='')}@" if password is not None else ""
    query = f"?ssl_ca_certs={quote(server.tls.ca)}" if ca else ""
    return f"{scheme}://{auth}127.0.0.1:{server.port}/0{query}"


def test_a_rediss_url_with_a_password_carries_the_stores(tls_server, clock):
    backend = open_backend(redis_url=_url(tls_server), clock=clock, prefix="tls")
    try:
        big = "é" * (1 << 19)  # 1 MB of UTF-8
        backend.cache.set("ключ 🔑", big)
        assert backend.cache.get("ключ 🔑") == big
        assert issubclass(backend.redis.connection_pool.connection_class, redis.connection.SSLConnection)
    finally:
        backend.close()


@pytest.mark.parametrize("url,why", [
    (lambda s: _url(s, scheme="redis"), "plain redis:// to a TLS-only port"),
    (lambda s: _url(s, ca=False), "rediss:// without the CA that signed the server's certificate"),
    (lambda s: _url(s, password="wrong"), "a wrong password"),
])
def test_a_tls_server_refusing_the_client_is_one_clear_line(tls_server, clock, url, why):
    with pytest.raises(BackendUnavailable) as info:
        open_backend(redis_url=url(tls_server), clock=clock, prefix="tls")
    message = str(info.value)
    assert "\n" not in message and message, why
    assert PASSWORD not in message and quote(PASSWORD, safe="") not in message  # never echo a secret


@pytest.mark.parametrize("name,policy", [("write_through", "write-through"), ("write_behind", "write-behind")])
def test_redis_implementations_conform_over_tls(tls_server, name, policy):
    with RedisBackend(redis_url=_url(tls_server)) as backend:
        report = run_check(f"implementations.redis:{name}", policy, backend=backend, examples=15, seed=1)
    assert report.verdict.status == "CONFORMS", report.render()
    assert report.examples >= 15


def test_the_cli_checks_over_rediss_and_refuses_a_bad_certificate_or_scheme_in_one_line(tls_server):
    base = [sys.executable, "-m", "conformance", "check", "implementations.redis:write_through",
            "--policy", "write-through", "--backend", "redis", "--examples", "5"]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    ok = subprocess.run(base + ["--redis-url", _url(tls_server)], capture_output=True, text=True,
                        timeout=300, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "CONFORMS" in ok.stdout
    for url, said in ((_url(tls_server, ca=False), "certificate"), (_url(tls_server, scheme="redis"), "rediss://")):
        bad = subprocess.run(base + ["--redis-url", url], capture_output=True, text=True, timeout=120, env=env)
        assert bad.returncode == 2, bad.stdout + bad.stderr
        assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert said in bad.stderr.lower(), bad.stderr
        assert quote(PASSWORD, safe="") not in bad.stderr  # the URL is shown redacted
