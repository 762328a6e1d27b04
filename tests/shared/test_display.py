"""What the command line and the app show of a job's spec and progress."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from shared.display import progress_words, shown_spec
from shared.generation import GenerateSpec
from shared.history import HistoryStore
from shared.spec import TrainSpec

SOURCE = "3f2b9c1e-7d4a-4e8b-9a61-2c5d8e0f1a7b"


def spec_of(**fields: object) -> dict[str, object]:
    return TrainSpec.from_json({"dataset": "digits", "epochs": 2, **fields}).to_json()


def test_a_gan_s_spec_leaves_out_the_options_only_other_models_read() -> None:
    shown = shown_spec(spec_of(model="gan"))

    assert "kl_weight" not in shown and "critic_steps" not in shown
    assert shown["model"] == "gan" and shown["epochs"] == 2
    assert "kind" not in shown


def test_a_vae_keeps_its_kl_weight_and_a_wgan_its_critic_steps() -> None:
    assert shown_spec(spec_of(model="vae", kl_weight=4.0))["kl_weight"] == 4.0
    assert shown_spec(spec_of(model="wgan_gp", image_size=32))["critic_steps"] == 5


def test_a_generation_spec_shows_only_what_its_mode_reads() -> None:
    samples = GenerateSpec.from_json({"source": SOURCE, "count": 9}).to_json()
    strip = GenerateSpec.from_json({"source": SOURCE, "mode": "interpolate"}).to_json()

    assert {"count", "seed"} <= shown_spec(samples).keys()
    assert not {"steps", "method", "indices"} & shown_spec(samples).keys()
    assert {"seed", "steps", "method"} <= shown_spec(strip).keys()
    assert not {"count", "indices"} & shown_spec(strip).keys()


def test_progress_words_count_epochs_of_training_jobs_only(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.sqlite3") as store:
        store.add_job(SOURCE, spec_of(model="vae", epochs=3))
        training = dataclasses.replace(store.get_job(SOURCE), epoch=1, step=100)
    generation = dataclasses.replace(training, kind="generate", epochs=0, epoch=0)

    assert progress_words(training) == "epoch 1/3 step 100"
    assert progress_words(generation) == ""
