"""Run `genqueue` as a user would: a process of its own, on a test's settings."""

from __future__ import annotations

import os
import subprocess
import sys

from shared.settings import Settings


def genqueue_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "GENQUEUE_HOME": str(settings.home),
        "GENQUEUE_BROKER_URL": settings.broker_url or "",
        "GENQUEUE_QUEUE": settings.queue,
    }


def genqueue(
    settings: Settings, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run one command to its end and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        env=genqueue_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_genqueue(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start one command and leave it running; its output is in `.communicate()`."""
    return subprocess.Popen(
        [sys.executable, "-m", "shared.cli", *args],
        env=genqueue_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
