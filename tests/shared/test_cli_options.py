"""Options with a fixed set of values are refused by name before anything starts."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from shared.cli import cli


def test_an_unknown_status_or_limit_for_jobs_is_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path)]

    status = runner.invoke(cli, ["jobs", "--status", "bogus", *home])
    limit = runner.invoke(cli, ["jobs", "--limit", "-1", *home])

    assert status.exit_code == 2 and "'bogus' is not one of" in status.output
    assert "'queued'" in status.output
    assert limit.exit_code == 2 and "-1 is not in the range x>=1" in limit.output


def test_an_unknown_worker_log_level_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["worker", "--loglevel", "bogus", "--home", str(tmp_path)]
    )

    assert result.exit_code == 2 and "'bogus' is not one of" in result.output
