"""Spec validation names the field, the value and the allowed range."""

from __future__ import annotations

import pytest

from shared.errors import SpecError
from shared.spec import TrainSpec


def test_defaults_fill_everything_but_model_and_dataset() -> None:
    spec = TrainSpec.from_json({"model": "vae", "dataset": "digits"})

    assert (spec.epochs, spec.batch_size, spec.lr, spec.latent_dim) == (
        5,
        128,
        1e-3,
        20,
    )


def test_spec_round_trips_through_json() -> None:
    spec = TrainSpec.from_json(
        {"model": "gan", "dataset": "digits", "lr": 2e-4, "channels": 3}
    )

    assert TrainSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs must be between 1 and 10000, got 0"),
        ("batch_size", 100_000, "batch_size must be between 1 and 8192, got 100000"),
        ("lr", 0.0, "lr must be between 1e-06 and 1, got 0.0"),
        ("latent_dim", -1, "latent_dim must be between 1 and 1024, got -1"),
        ("seed", -5, "seed must be between 0 and 4294967295, got -5"),
    ],
)
def test_out_of_range_values_are_refused_with_the_range(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(SpecError, match=message.replace("+", r"\+")):
        TrainSpec.from_json({"model": "vae", "dataset": "digits", field: value})


def test_wrong_types_are_refused_without_coercion() -> None:
    with pytest.raises(SpecError, match="epochs='5' is not valid"):
        TrainSpec.from_json({"model": "vae", "dataset": "digits", "epochs": "5"})


def test_unknown_model_and_extra_fields_are_named() -> None:
    with pytest.raises(SpecError, match="model='diffusion'") as info:
        TrainSpec.from_json({"model": "diffusion", "dataset": "digits", "colour": 1})

    assert "Unknown field 'colour'" in str(info.value)


def test_a_message_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(SpecError, match="must be a JSON object, got list"):
        TrainSpec.from_json(["vae"])


def test_integer_learning_rate_is_accepted_as_float() -> None:
    assert TrainSpec.from_json({"model": "vae", "dataset": "digits", "lr": 1}).lr == 1.0


def test_specs_are_frozen() -> None:
    spec = TrainSpec.from_json({"model": "vae", "dataset": "digits"})

    with pytest.raises(Exception, match="frozen"):
        spec.epochs = 3  # type: ignore[misc]


def test_the_gan_defaults_to_the_published_learning_rate() -> None:
    assert TrainSpec.from_json({"model": "gan", "dataset": "digits"}).lr == 2e-4
    assert TrainSpec.from_json({"model": "vae", "dataset": "digits"}).lr == 1e-3


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    with pytest.raises(SpecError) as info:
        TrainSpec.from_json({"model": "vae", "dataset": "digits", "name": "x" * 5000})

    assert len(str(info.value)) < 300
