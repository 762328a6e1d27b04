"""compose.yaml is valid and asks for what a team setup needs."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "compose.yaml"


def test_compose_file_runs_a_private_persistent_redis_and_a_gpu_worker() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    redis_command = services["redis"]["command"]
    assert "--requirepass" in redis_command
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert services["redis"]["volumes"]
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert services["worker"]["environment"]["GENQUEUE_BROKER_URL"].startswith(
        "redis://:"
    )
