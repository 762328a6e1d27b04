"""Workers and clients reach Redis over TLS, and refuse a server they cannot verify."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError

from shared.client import Client
from shared.errors import BrokerError
from shared.queue import connect_redis, make_celery
from shared.settings import Settings
from shared.spec import TrainSpec
from tests.faults.tls_server import Authority, TlsRedis, make_authority

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("trusted-ca"), "genqueue test CA")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("stranger-ca"), "someone else")


@pytest.fixture(scope="module")
def tls_redis(
    tmp_path_factory: pytest.TempPathFactory, trusted: Authority
) -> Iterator[TlsRedis]:
    server = TlsRedis(tmp_path_factory.mktemp("tls-redis"), trusted)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def impostor(
    tmp_path_factory: pytest.TempPathFactory, stranger: Authority
) -> Iterator[TlsRedis]:
    """A TLS Redis whose certificate the trusted CA never signed."""
    server = TlsRedis(tmp_path_factory.mktemp("impostor-redis"), stranger)
    yield server
    server.stop()


def settings_for(url: str, home: Path, artifacts: Path) -> Settings:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    return Settings.load(
        home=home, broker_url=url, queue=queue, artifact_dir=artifacts, environ={}
    )


def tiny_vae() -> TrainSpec:
    fields = {"model": "vae", "dataset": "digits", "epochs": 1, "max_images": 256}
    return TrainSpec.from_json(fields)


def test_a_worker_and_a_client_finish_a_job_over_rediss(
    tls_redis: TlsRedis,
    trusted: Authority,
    tmp_path: Path,
    shared_artifacts: Path,
    start_env_worker,
) -> None:
    url = tls_redis.url(ssl_ca_certs=str(trusted.ca))
    settings = settings_for(url, tmp_path / "home", shared_artifacts)
    worker = start_env_worker(settings)
    client = Client(settings)

    job = client.wait(client.submit(tiny_vae()), timeout=180)

    assert job.status == "succeeded", job.error
    assert job.epoch == 1 and job.worker.startswith("test@")
    log = worker.log()
    assert f"rediss://:**@127.0.0.1:{tls_redis.port}" in log
    assert "insecure" not in log.lower()


def test_a_server_the_given_ca_did_not_sign_is_refused_by_client_and_celery(
    impostor: TlsRedis, trusted: Authority, tmp_path: Path
) -> None:
    url = impostor.url(ssl_ca_certs=str(trusted.ca))
    settings = settings_for(url, tmp_path / "home", tmp_path / "artifacts")

    with pytest.raises(BrokerError) as refused:
        connect_redis(settings, timeout=3)
    app = make_celery(settings)
    with pytest.raises(OperationalError, match="certificate verify failed"):
        app.connection_for_write().ensure_connection(max_retries=1)

    message = str(refused.value)
    assert f"Redis at 127.0.0.1:{impostor.port} showed a TLS certificate" in message
    assert f"the CA file {trusted.ca}" in message
    assert "?ssl_ca_certs=/path/ca.pem" in message


def test_a_worker_refuses_to_start_against_an_unverified_server(
    impostor: TlsRedis, trusted: Authority, tmp_path: Path
) -> None:
    url = impostor.url(ssl_ca_certs=str(trusted.ca))
    env = {**os.environ, "GENQUEUE_HOME": str(tmp_path), "GENQUEUE_BROKER_URL": url}

    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "showed a TLS certificate that does not pass the check" in result.stderr


def test_without_a_ca_file_the_system_store_is_used_and_a_private_ca_fails(
    tls_redis: TlsRedis, tmp_path: Path
) -> None:
    settings = settings_for(tls_redis.url(), tmp_path, tmp_path / "artifacts")

    with pytest.raises(BrokerError, match="against the system's trusted CAs"):
        connect_redis(settings, timeout=3)


def test_checks_are_off_only_when_the_url_says_ssl_cert_reqs_none(
    impostor: TlsRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(
        impostor.url(ssl_cert_reqs="none"), tmp_path, tmp_path / "artifacts"
    )

    client = connect_redis(settings, timeout=3)

    assert client.ping()
    assert "without certificate checks" in caplog.text


def test_a_client_certificate_is_shown_to_a_server_that_asks_for_one(
    trusted: Authority, tmp_path: Path
) -> None:
    server = TlsRedis(tmp_path / "redis", trusted, client_certs=True)
    # The server's own pair doubles as a client certificate the same CA signed.
    pair = {
        "ssl_certfile": str(trusted.server_cert),
        "ssl_keyfile": str(trusted.server_key),
    }
    with_pair = server.url(ssl_ca_certs=str(trusted.ca), **pair)
    without = server.url(ssl_ca_certs=str(trusted.ca))
    try:
        shown = settings_for(with_pair, tmp_path / "a", tmp_path / "artifacts")
        assert connect_redis(shown, timeout=3).ping()
        make_celery(shown).connection_for_write().ensure_connection(max_retries=1)
        with pytest.raises(BrokerError):
            connect_redis(settings_for(without, tmp_path / "b", tmp_path), timeout=3)
    finally:
        server.stop()
