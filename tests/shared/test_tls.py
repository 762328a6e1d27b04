"""A rediss:// URL's TLS options are read once, checked, and given to Celery as well."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.queue import celery_config
from shared.settings import Settings
from shared.tls import parse_broker_url


def test_a_rediss_url_verifies_the_server_and_its_name_by_default() -> None:
    address = parse_broker_url("rediss://:pw@gpu-box:6380/0")

    assert address.url == "rediss://:pw@gpu-box:6380/0"
    assert address.tls == {
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_check_hostname": True,
    }


def test_the_ca_file_leaves_the_url_and_joins_the_tls_arguments(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")

    address = parse_broker_url(f"rediss://:pw@gpu-box:6380/0?ssl_ca_certs={ca}")

    assert address.url == "rediss://:pw@gpu-box:6380/0"
    assert address.tls is not None and address.tls["ssl_ca_certs"] == str(ca)
    assert address.ca_text == f"the CA file {ca}"


def test_celery_gets_the_same_tls_arguments_as_the_event_client(
    tmp_path: Path,
) -> None:
    url = "rediss://:pw@gpu-box:6380/0?ssl_check_hostname=false"
    settings = Settings.load(home=tmp_path, broker_url=url, environ={})

    config = celery_config(settings)

    assert config["broker_url"] == "rediss://:pw@gpu-box:6380/0"
    assert config["broker_use_ssl"] == parse_broker_url(url).tls
    assert config["broker_use_ssl"]["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert config["broker_use_ssl"]["ssl_check_hostname"] is False


def test_a_plain_url_has_no_tls_and_celery_is_told_so(tmp_path: Path) -> None:
    settings = Settings.load(home=tmp_path, broker_url="redis://h:1/0", environ={})

    assert celery_config(settings)["broker_use_ssl"] is False
    assert parse_broker_url("redis://h:1/0").tls is None


def test_turning_checks_off_takes_the_host_name_check_with_it() -> None:
    address = parse_broker_url("rediss://h:1/0?ssl_cert_reqs=none")

    assert address.tls == {"ssl_cert_reqs": ssl.CERT_NONE, "ssl_check_hostname": False}
    assert not address.is_verified


def test_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"

    with pytest.raises(ConfigError, match=f"ssl_ca_certs .* names {missing}, which"):
        parse_broker_url(f"rediss://h:1/0?ssl_ca_certs={missing}")


def test_tls_options_on_a_plain_url_ask_for_rediss(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="start it with rediss://"):
        parse_broker_url("redis://h:1/0?ssl_cert_reqs=required")


def test_unknown_options_and_values_are_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"\['db'\].*ssl_ca_certs"):
        parse_broker_url("rediss://h:1/0?db=2")
    with pytest.raises(ConfigError, match="'sometimes' .* required, optional or none"):
        parse_broker_url("rediss://h:1/0?ssl_cert_reqs=sometimes")
    with pytest.raises(ConfigError, match="'maybe' .* neither true nor false"):
        parse_broker_url("rediss://h:1/0?ssl_check_hostname=maybe")
