"""The Celery configuration both sides share, and the client's way to send jobs.

The client only sends tasks by name, so it never imports the worker or torch.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import redis
from celery import Celery

from shared.errors import BrokerError
from shared.settings import Settings, redact
from shared.tls import BrokerAddress, describe_tls_failure, parse_broker_url

logger = logging.getLogger(__name__)

TRAIN_TASK = "genqueue.train"
GENERATE_TASK = "genqueue.generate"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Settings for long GPU jobs: JSON only, late acks, one job at a time."""
    address = parse_broker_url(broker_url(settings))
    return {
        "broker_url": address.url,
        # Given even when empty: kombu skips certificate checks for a rediss:// URL
        # without TLS options.
        "broker_use_ssl": address.tls or False,
        # JSON only: a pickle message could run code on the worker.
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        # Acknowledge after the job ends, so a job whose worker dies is delivered again.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A running job outlives a broker restart: its reporter keeps the events
        # until Redis is back. Celery 6 would cancel it by default.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": settings.queue,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            # Look for messages past their timeout on every 10 s tick, not every
            # tenth (kombu's default), so redelivery follows the timeout by
            # seconds; it is one small Redis query.
            "unacked_restore_throttle": 1,
        },
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }


def broker_url(settings: Settings) -> str:
    """The broker URL, falling back to the embedded Redis of this home directory."""
    if settings.broker_url:
        return settings.broker_url
    from shared.redis_server import EmbeddedRedis

    embedded = EmbeddedRedis(settings.redis_dir)
    if not (settings.redis_dir / "password").exists():
        raise BrokerError(
            "No broker is configured: run `genqueue up` to start the embedded one, "
            "or set GENQUEUE_BROKER_URL (or pass --broker)."
        )
    return embedded.url


def make_celery(settings: Settings) -> Celery:
    app = Celery("genqueue", set_as_current=False)
    app.conf.update(celery_config(settings))
    return app


def connect_redis(settings: Settings, *, timeout: float = 5.0) -> redis.Redis:
    """A Redis client for events, checked with a ping so failures say where and why."""
    url = broker_url(settings)
    address = parse_broker_url(url)
    if address.tls is not None and not address.is_verified:
        logger.warning(
            "TLS to %s without certificate checks (ssl_cert_reqs=none): anyone on "
            "the path can pose as the broker and read its password",
            redact(address.url),
        )
    client = redis.Redis.from_url(
        address.url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout + 5,
        health_check_interval=15,
        **(address.tls or {}),
    )
    try:
        client.ping()
    except redis.AuthenticationError:
        raise BrokerError(
            f"Redis at {redact(url)} refused the password; check the broker URL."
        ) from None
    except redis.RedisError as exc:
        raise BrokerError(_unreachable(address, exc)) from None
    return client


def _unreachable(address: BrokerAddress, exc: redis.RedisError) -> str:
    tls_problem = describe_tls_failure(address, exc)
    if tls_problem is not None:
        return tls_problem
    if "DB index is out of range" in str(exc):
        database = urlsplit(address.url).path.removeprefix("/")
        return (
            f"Redis at {redact(address.url)} has no database {database} (a server "
            "has 16, numbered 0 to 15, unless its `databases` setting says "
            "otherwise); end the broker URL with /0 or another number it has."
        )
    return (
        f"Cannot reach Redis at {redact(address.url)} ({exc}); start it with "
        "`genqueue up` or set GENQUEUE_BROKER_URL."
    )
