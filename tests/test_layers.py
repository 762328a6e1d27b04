"""The layering contract: shared/ is free of torch and Qt, gui/ of torch, worker/ of Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


def test_command_line_starts_without_torch_or_qt() -> None:
    code = (
        "import sys, shared.cli; print(sorted({'torch', 'PySide6'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


def test_code_passes_ruff_and_mypy() -> None:
    bin_dir = Path(sys.executable).parent
    for command in (["ruff", "check", "."], ["mypy"]):
        tool = [str(bin_dir / command[0]), *command[1:]]
        result = subprocess.run(tool, cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
