"""The broker's password reaches no log, listing, process list, file or error message."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from shared.redis_server import EmbeddedRedis, free_port
from shared.settings import Settings

pytestmark = pytest.mark.e2e
# Before pytest-qt makes its QApplication: the app's test needs no screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def genqueue(
    home: Path, url: str, *args: str, queue: str = "gpu"
) -> subprocess.CompletedProcess[str]:
    """Run the command line with debug logging, the URL in its environment."""
    env = {
        **os.environ,
        "GENQUEUE_HOME": str(home),
        "GENQUEUE_BROKER_URL": url,
        "GENQUEUE_QUEUE": queue,
    }
    command = [sys.executable, "-m", "shared.cli", "-v", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)


def said(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def files_holding(root: Path, secret: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(path)
    return found


def test_a_job_run_leaves_the_password_in_no_log_listing_or_file(
    redis_server: EmbeddedRedis,
    tmp_path: Path,
    shared_artifacts: Path,
    start_env_worker,
) -> None:
    password, url, home = redis_server.password, redis_server.url, tmp_path / "home"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings.load(
        home=home, broker_url=url, queue=queue, artifact_dir=shared_artifacts
    )
    worker = start_env_worker(settings)
    submit = ("submit", "train", "--model", "vae", "--dataset", "digits")

    job_id = genqueue(home, url, *submit, "--epochs", "1", queue=queue).stdout.strip()
    outputs = [genqueue(home, url, "wait", job_id, queue=queue)]
    for command in (["show", job_id], ["jobs"], ["workers"], ["logs", job_id]):
        outputs.append(genqueue(home, url, *command, queue=queue))
        outputs.append(genqueue(home, url, *command, "--json", queue=queue))

    assert outputs[0].returncode == 0, said(outputs[0])
    assert "succeeded" in said(outputs[1]) and "test@" in said(outputs[5])
    command_line = Path(f"/proc/{worker.process.pid}/cmdline").read_bytes()
    assert password.encode() not in command_line
    log = worker.log()
    assert f"redis://:**@127.0.0.1:{redis_server.port}" in log  # Celery's banner
    assert password not in log
    for result in outputs:
        assert password not in said(result), result.args
    assert files_holding(home, password) == []


def test_errors_name_the_broker_but_not_the_password(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    wrong = f"wrong-{uuid.uuid4().hex}"
    refused = server.url.replace(server.password, wrong)
    closed = f"redis://:{wrong}@127.0.0.1:{free_port()}/0"
    try:
        results = {
            (url, args): genqueue(tmp_path / "home", url, *args)
            for url in (refused, closed)
            for args in (
                ("workers",),
                ("jobs",),
                ("submit", "train", "--model", "vae", "--dataset", "digits"),
                ("worker",),
            )
        }
    finally:
        server.stop()

    for (url, args), result in results.items():
        text = said(result)
        assert wrong not in text, (url, args, text)
        assert server.password not in text
        assert "redis://:***@127.0.0.1" in text, (url, args, text)
        reason = "refused the password" if url == refused else "Cannot reach Redis"
        assert reason in text, (url, args, text)


@pytest.mark.parametrize("broken", ["host:abc/0", "[::1/0"])
def test_a_url_that_does_not_parse_is_refused_without_being_shown(
    tmp_path: Path, broken: str
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"

    result = genqueue(tmp_path, f"redis://:{secret}@{broken}", "workers")

    assert result.returncode == 2
    assert "error: The broker URL does not parse" in result.stderr
    assert secret not in said(result) and "Traceback" not in said(result)


def test_the_app_shows_the_broker_without_its_password(
    qtbot, redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    from gui.backend import Backend

    settings = Settings.load(home=tmp_path, broker_url=redis_server.url, environ={})
    backend = Backend(settings)
    results: list[tuple[bool, str]] = []
    backend.test_result.connect(lambda ok, text: results.append((ok, text)))
    wrong = redis_server.url.replace(redis_server.password, "wrong-" + "x" * 12)

    backend.test_connection(redis_server.url)
    backend.test_connection(wrong)

    assert results[0][0] and not results[1][0]
    shown = [backend._broker_text(), *(text for _, text in results)]
    assert all("redis://:***@127.0.0.1" in text for text in shown), shown
    assert not any(redis_server.password in text for text in shown)
    assert not any("x" * 12 in text for text in shown)
