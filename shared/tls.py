"""TLS to the broker: the options a ``rediss://`` URL carries, read once for both sides.

A broker URL may end in ``?ssl_ca_certs=/path/ca.pem`` and the other options below.
Celery's Redis transport (kombu) and redis-py read such a query each in their own way,
and kombu turns certificate checks off for a ``rediss://`` URL that names no options.
So genqueue reads the query itself and hands the same keyword arguments to both: the
Celery connection as ``broker_use_ssl``, the event client as arguments of its
connection. Certificates are verified, host name included, unless the URL says
``ssl_cert_reqs=none``; with no ``ssl_ca_certs`` the system's trusted CAs are used.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from shared.errors import ConfigError

FILE_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
OPTIONS = (*FILE_OPTIONS, "ssl_cert_reqs", "ssl_check_hostname")
CERT_REQS = {
    "required": ssl.CERT_REQUIRED,
    "optional": ssl.CERT_OPTIONAL,
    "none": ssl.CERT_NONE,
}
_TRUE = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class BrokerAddress:
    """A broker URL without its query, and the TLS arguments the query gave.

    ``tls`` is None for ``redis://`` and ``unix://`` URLs; for ``rediss://`` it holds
    keyword arguments of redis-py's SSLConnection, which kombu passes on unchanged.
    """

    url: str
    tls: dict[str, Any] | None

    @property
    def where(self) -> str:
        """host:port, for messages; never the password."""
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 6379}"

    @property
    def is_verified(self) -> bool:
        return self.tls is not None and self.tls["ssl_cert_reqs"] != ssl.CERT_NONE

    @property
    def ca_text(self) -> str:
        """Which CAs the server's certificate is checked against, for messages."""
        ca = (self.tls or {}).get("ssl_ca_certs")
        return f"the CA file {ca}" if ca else "the system's trusted CAs"


def parse_broker_url(url: str, *, check_files: bool = True) -> BrokerAddress:
    """Split ``url`` into its address and TLS arguments; ConfigError if they are bad.

    With ``check_files`` off, the PEM files the options name need not exist yet.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as exc:
        # The URL is not shown: where its password sits cannot be told.
        raise ConfigError(
            f"The broker URL does not parse ({exc}); use "
            "redis://:PASSWORD@HOST:PORT/0, or rediss://... for TLS."
        ) from None
    database = parts.path.removeprefix("/")
    if parts.scheme in ("redis", "rediss") and database and not database.isdigit():
        raise ConfigError(
            f"The broker URL ends in the database {database!r}, which is not a "
            "number; end it with /0 (or another database number)."
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    plain = urlunsplit(parts._replace(query=""))
    unknown = sorted(set(query) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f"The broker URL has options {unknown} that genqueue does not pass on; "
            f"it takes only {', '.join(OPTIONS)} (for rediss:// URLs)."
        )
    if parts.scheme != "rediss":
        if query:
            raise ConfigError(
                f"The broker URL sets {sorted(query)}, which only a TLS connection "
                f"uses; start it with rediss:// instead of {parts.scheme}://."
            )
        return BrokerAddress(plain, None)
    return BrokerAddress(plain, _tls_arguments(query, check_files))


def _tls_arguments(query: dict[str, str], check_files: bool) -> dict[str, Any]:
    reqs = query.get("ssl_cert_reqs", "required").lower().removeprefix("cert_")
    if reqs not in CERT_REQS:
        raise ConfigError(
            f"ssl_cert_reqs={query['ssl_cert_reqs']!r} in the broker URL is not one "
            "of required, optional or none; leave it out to verify the server."
        )
    arguments: dict[str, Any] = {"ssl_cert_reqs": CERT_REQS[reqs]}
    # Python refuses to skip certificate checks while still checking the host name.
    arguments["ssl_check_hostname"] = reqs != "none" and _flag(query)
    for name in FILE_OPTIONS:
        if name in query:
            path = query[name]
            arguments[name] = _existing_file(name, path) if check_files else path
    return arguments


def _flag(query: dict[str, str]) -> bool:
    text = query.get("ssl_check_hostname", "true")
    if text.lower() not in _TRUE:
        raise ConfigError(
            f"ssl_check_hostname={text!r} in the broker URL is neither true nor false."
        )
    return _TRUE[text.lower()]


def _existing_file(name: str, value: str) -> str:
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"{name} in the broker URL names {value}, which is not a file; give the "
            "full path of the PEM file."
        )
    return str(path)


def describe_tls_failure(address: BrokerAddress, exc: Exception) -> str | None:
    """A message for a connection that failed in its TLS handshake, else None."""
    text, where = str(exc), address.where
    if "CERTIFICATE_VERIFY_FAILED" in text:
        reason = text.rpartition("certificate verify failed:")[2].strip(" .")
        reason = reason.split(" (_ssl")[0]
        return (
            f"Redis at {where} showed a TLS certificate that does not pass the check "
            f"against {address.ca_text} ({reason}); give the CA that signed the "
            "server's certificate as ?ssl_ca_certs=/path/ca.pem in the broker URL, "
            "and connect by a host name the certificate lists."
        )
    if address.tls is not None and "WRONG_VERSION_NUMBER" in text:
        return (
            f"Redis at {where} does not speak TLS on that port; use its TLS port, or "
            "redis:// if the server has no TLS."
        )
    return None
