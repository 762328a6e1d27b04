"""One Settings object, built at start-up from flags, the environment and a config file.

Precedence, highest first: command-line flags, environment variables
(GENQUEUE_HOME, GENQUEUE_BROKER_URL, GENQUEUE_ARTIFACT_DIR, GENQUEUE_QUEUE,
GENQUEUE_VISIBILITY_TIMEOUT, GENQUEUE_LEASE_SECONDS, GENQUEUE_MAX_ATTEMPTS), the TOML file ``<home>/config.toml`` (or the file in
GENQUEUE_CONFIG), then defaults. With no broker configured anywhere, genqueue uses the
embedded Redis that ``genqueue up`` runs under the home directory.

GENQUEUE_ARTIFACT_URL (``artifact_url``) names a location, any fsspec URL, where
workers share finished models and checkpoints (see worker/storage.py).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import platformdirs

from shared.errors import ConfigError
from shared.events import LEASE_SECONDS
from shared.files import write_private
from shared.tls import parse_broker_url

DEFAULT_QUEUE = "gpu"
BROKER_SCHEMES = ("redis", "rediss", "unix")
# Redis hands an unacknowledged job to another worker after this long, so it must be
# longer than the longest training run.
DEFAULT_VISIBILITY_TIMEOUT = 7 * 24 * 3600
# A job whose worker vanished this many times (killed for memory, say) is failed
# rather than handed to yet another worker.
DEFAULT_MAX_ATTEMPTS = 3
# A worker renews its lease every HEARTBEAT_SECONDS; a lease shorter than a few beats
# would expire under a merely busy worker.
MIN_LEASE_SECONDS = 5

_ENV = {
    "broker_url": "GENQUEUE_BROKER_URL",
    "artifact_dir": "GENQUEUE_ARTIFACT_DIR",
    "artifact_url": "GENQUEUE_ARTIFACT_URL",
    "queue": "GENQUEUE_QUEUE",
    "visibility_timeout": "GENQUEUE_VISIBILITY_TIMEOUT",
    "lease_seconds": "GENQUEUE_LEASE_SECONDS",
    "max_attempts": "GENQUEUE_MAX_ATTEMPTS",
}


@dataclass(frozen=True)
class Settings:
    """Where things live and how to reach the broker."""

    home: Path
    broker_url: str | None
    artifact_dir: Path
    # Where workers share finished models and checkpoints (an fsspec URL); None
    # keeps them in artifact_dir on each worker alone.
    artifact_url: str | None = None
    queue: str = DEFAULT_QUEUE
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    # How long a running job's lease lives without renewal: the time it takes to
    # notice that its worker is gone.
    lease_seconds: int = LEASE_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @property
    def db_path(self) -> Path:
        return self.home / "history.sqlite3"

    @property
    def images_dir(self) -> Path:
        """The client's copy of every job's sample images."""
        return self.home / "jobs"

    @property
    def redis_dir(self) -> Path:
        return self.home / "redis"

    @classmethod
    def load(
        cls,
        *,
        home: str | Path | None = None,
        broker_url: str | None = None,
        environ: Mapping[str, str] | None = None,
        **flags: Any,
    ) -> Settings:
        env = os.environ if environ is None else environ
        home_path = Path(
            home or env.get("GENQUEUE_HOME") or platformdirs.user_data_dir("genqueue")
        )
        home_path = _usable_home(home_path.expanduser().resolve())
        explicit = env.get("GENQUEUE_CONFIG")
        if explicit and not Path(explicit).is_file():
            raise ConfigError(
                f"GENQUEUE_CONFIG names {explicit}, which is not a file; "
                "create it or unset the variable."
            )
        config = _read_config(Path(explicit or home_path / "config.toml"))
        flags = {
            k: v
            for k, v in {"broker_url": broker_url, **flags}.items()
            if v is not None
        }

        def pick(name: str, default: Any) -> Any:
            if name in flags:
                return flags[name]
            if _ENV[name] in env and env[_ENV[name]]:
                return env[_ENV[name]]
            return config.get(name, default)

        return cls(
            home=home_path,
            broker_url=check_broker_url(pick("broker_url", None)),
            artifact_dir=_artifact_folder(
                pick("artifact_dir", home_path / "artifacts")
            ),
            artifact_url=check_artifact_url(pick("artifact_url", None)),
            queue=str(pick("queue", DEFAULT_QUEUE)),
            visibility_timeout=_positive_int(
                "visibility_timeout",
                pick("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT),
            ),
            lease_seconds=_positive_int(
                "lease_seconds", pick("lease_seconds", LEASE_SECONDS), MIN_LEASE_SECONDS
            ),
            max_attempts=_positive_int(
                "max_attempts", pick("max_attempts", DEFAULT_MAX_ATTEMPTS), unit="runs"
            ),
        )


def write_config(home: Path, **values: Any) -> Path:
    """Set keys in ``<home>/config.toml``, keeping the others; None removes a key."""
    path = home / "config.toml"
    config = {**_read_config(path), **values}
    lines = [
        f"{key} = {json.dumps(value)}"
        for key, value in config.items()
        if value is not None
    ]
    # The broker URL may hold a password: owner-only, like the embedded Redis's.
    return write_private(path, "\n".join(lines) + "\n")


def check_broker_url(url: Any) -> str | None:
    """The URL if it names a Redis server, else a ConfigError that says the form."""
    if url is None or url == "":
        return None
    if isinstance(url, str):
        # Also the port and a rediss:// URL's TLS options, so they fail at start-up.
        parse_broker_url(url, check_files=False)
    if not isinstance(url, str) or urlsplit(url).scheme not in BROKER_SCHEMES:
        shown = redact(url) if isinstance(url, str) else repr(url)
        raise ConfigError(
            f"The broker URL {shown!r} is not a Redis URL; use "
            "redis://:PASSWORD@HOST:PORT/0, or rediss://... for TLS."
        )
    return url


def check_artifact_url(url: Any) -> str | None:
    """The URL if fsspec can open it on this machine, else a ConfigError saying why.

    A plain path is taken as a folder, such as a shared disk mounted here.
    """
    if url is None or url == "":
        return None
    if not isinstance(url, str):
        raise ConfigError(f"artifact_url must be a URL in quotes, got {url!r}.")
    # Imported here: every command loads settings, few set a location.
    import fsspec

    protocol = fsspec.utils.get_protocol(url)
    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise ConfigError(
            f"The artifact URL {redact(url)!r} has the protocol {protocol!r}, which fsspec does not know; use a path, file:///PATH, s3://BUCKET/PREFIX or another fsspec protocol."
        ) from None
    except ImportError as exc:
        raise ConfigError(
            f"The artifact URL {redact(url)!r} needs fsspec's {protocol} backend, which is not installed here ({exc}); install it on this machine or set artifact_url (GENQUEUE_ARTIFACT_URL) to another location."
        ) from None
    return url


def _artifact_folder(value: Any) -> Path:
    """The worker's local artifact folder; a URL belongs in artifact_url instead."""
    if "://" in str(value):
        raise ConfigError(
            f"artifact_dir is this machine's own folder, but {redact(str(value))!r} is a URL; set it as artifact_url (GENQUEUE_ARTIFACT_URL) so workers share their outputs there."
        )
    return Path(value).expanduser()


def _usable_home(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"The genqueue home {path} is a file, not a folder; set GENQUEUE_HOME "
            "(or --home) to a folder."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot make the genqueue home {path}: {exc.strerror or exc}; set "
            "GENQUEUE_HOME (or --home) to a folder you can write."
        ) from None
    return path


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"Cannot read the config file {path}: {exc}. Fix or remove it."
        ) from None
    unknown = set(data) - set(_ENV)
    if unknown:
        raise ConfigError(
            f"Unknown keys {sorted(unknown)} in {path}; allowed: {sorted(_ENV)}."
        )
    for key in ("broker_url", "artifact_dir", "artifact_url", "queue"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(
                f"{key} in {path} must be a quoted string, got {data[key]!r}."
            )
    return data


def _positive_int(
    name: str, value: Any, minimum: int = 1, unit: str = "seconds"
) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < minimum:
        raise ConfigError(
            f"{name} must be a whole number of {unit}, at least {minimum}; "
            f"got {value!r}."
        )
    return number


def redact(url: str) -> str:
    """The URL with its password replaced, for logs and screens."""
    try:
        parts = urlsplit(url)
        password, port = parts.password, parts.port
    except ValueError:
        # Where a password would sit in a URL that does not parse cannot be told.
        return f"{url.partition(':')[0]}://(a URL that does not parse)"
    if not password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if port:
        host = f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
