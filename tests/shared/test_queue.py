"""The Celery settings suit long GPU jobs and refuse anything but JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import BrokerError
from shared.queue import broker_url, celery_config
from shared.settings import Settings


def test_celery_is_configured_for_long_jobs_and_json_only(tmp_path: Path) -> None:
    settings = Settings.load(
        home=tmp_path, broker_url="redis://h:1/0", visibility_timeout=90000, environ={}
    )

    config = celery_config(settings)

    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_default_queue"] == "gpu"
    assert config["broker_transport_options"]["visibility_timeout"] == 90000


def test_without_a_broker_or_embedded_redis_the_message_says_what_to_do(
    tmp_path: Path,
) -> None:
    settings = Settings.load(home=tmp_path, environ={})

    with pytest.raises(BrokerError, match="run `genqueue up`.*GENQUEUE_BROKER_URL"):
        broker_url(settings)
