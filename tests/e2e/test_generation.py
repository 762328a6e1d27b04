"""Generation jobs from the command line: reproducible grids and interpolation strips."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from shared.client import Client
from shared.settings import Settings
from tests.e2e.test_cli import genqueue, genqueue_json, submit_failing

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def trained(e2e_settings: Settings, e2e_client: Client) -> dict[str, str]:
    """A GAN and a VAE trained for one short epoch on digits."""
    jobs = {}
    for model in ("gan", "vae"):
        result = genqueue(
            e2e_settings,
            "submit",
            "train",
            "--model",
            model,
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--max-images",
            "256",
        )
        jobs[model] = result.stdout.strip()
        assert genqueue(e2e_settings, "wait", jobs[model]).returncode == 0
    return jobs


def generate(settings: Settings, *args: str) -> dict:
    result = genqueue(settings, "submit", "generate", *args)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    genqueue(settings, "wait", job_id)
    return genqueue_json(settings, "show", job_id)


def test_the_same_seed_gives_the_same_grid(
    e2e_settings: Settings, trained: dict[str, str]
) -> None:
    first = generate(e2e_settings, trained["gan"], "--count", "16", "--seed", "3")
    again = generate(e2e_settings, trained["gan"], "--count", "16", "--seed", "3")
    other = generate(e2e_settings, trained["gan"], "--count", "16", "--seed", "4")

    assert first["status"] == again["status"] == other["status"] == "succeeded"
    grids = [Path(d["images"][0]["path"]).read_bytes() for d in (first, again, other)]
    assert grids[0] == grids[1] and grids[0] != grids[2]
    assert first["kind"] == "generate" and first["model"] == "gan"


def test_an_interpolation_is_one_strip_of_the_asked_steps(
    e2e_settings: Settings, trained: dict[str, str]
) -> None:
    shown = generate(
        e2e_settings,
        trained["vae"],
        "--mode",
        "interpolate",
        "--steps",
        "7",
        "--seed",
        "1",
        "--seed-b",
        "9",
    )

    assert shown["status"] == "succeeded"
    image = shown["images"][0]
    assert image["name"] == "interpolation"
    with Image.open(image["path"]) as strip:
        assert strip.size == (7 * 8 + 8 * 2, 8 + 2 * 2)  # seven 8x8 digits in a row


def test_a_mode_the_model_cannot_do_is_refused_before_queueing(
    e2e_settings: Settings, trained: dict[str, str]
) -> None:
    gan = genqueue(
        e2e_settings, "submit", "generate", trained["gan"], "--mode", "reconstruct"
    )
    vae = genqueue(
        e2e_settings, "submit", "generate", trained["vae"], "--mode", "classes"
    )

    assert gan.returncode == vae.returncode == 2
    assert (
        "reconstruct needs a VAE, and job" in gan.stderr
        and "trained a gan" in gan.stderr
    )
    assert "classes needs a conditional model" in vae.stderr


def test_generating_from_a_job_without_a_model_is_refused(
    e2e_settings: Settings, tmp_path
) -> None:
    failed = submit_failing(e2e_settings, tmp_path, "gan")
    genqueue(e2e_settings, "wait", failed)

    result = genqueue(e2e_settings, "submit", "generate", failed)

    assert result.returncode == 2
    assert "no model to draw from" in result.stderr
