"""Spec validation names the field, the value and the allowed range."""

from __future__ import annotations

from typing import get_args

import pytest

from shared.errors import SpecError
from shared.generation import GenerateSpec
from shared.spec import DEFAULT_LR, MODEL_KINDS, ModelKind, TrainSpec


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


@pytest.mark.parametrize(
    ("model", "lr"),
    [
        ("dcgan", 2e-4),
        ("wgan_gp", 1e-4),
        ("cgan", 2e-4),
        ("conv_vae", 1e-3),
        ("cvae", 1e-3),
    ],
)
def test_each_model_defaults_to_its_published_learning_rate(
    model: str, lr: float
) -> None:
    assert TrainSpec.from_json({"model": model, "dataset": "/data/faces"}).lr == lr


def test_every_model_kind_has_a_description_and_a_learning_rate() -> None:
    kinds = set(get_args(ModelKind))

    assert set(MODEL_KINDS) == kinds == set(DEFAULT_LR)
    assert all(MODEL_KINDS[kind].strip() for kind in kinds)


def test_kl_weight_and_critic_steps_default_to_the_papers_values() -> None:
    spec = TrainSpec.from_json({"model": "wgan_gp", "dataset": "/data/faces"})

    assert (spec.kl_weight, spec.critic_steps) == (1.0, 5)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kl_weight", 101, "kl_weight must be between 0 and 100, got 101.0"),
        ("kl_weight", -0.5, "kl_weight must be between 0 and 100, got -0.5"),
        ("critic_steps", 0, "critic_steps must be between 1 and 20, got 0"),
        ("critic_steps", 21, "critic_steps must be between 1 and 20, got 21"),
    ],
)
def test_kl_weight_and_critic_steps_are_held_to_their_ranges(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        TrainSpec.from_json({"model": "vae", "dataset": "digits", field: value})


@pytest.mark.parametrize(
    ("model", "field", "value", "message"),
    [
        (
            "gan",
            "kl_weight",
            0.5,
            "kl_weight (--kl-weight) applies only to vae, conv_vae and cvae, not to "
            "gan; got 0.5. Leave it at its default 1 or choose one of those models.",
        ),
        (
            "vae",
            "critic_steps",
            3,
            "critic_steps (--critic-steps) applies only to wgan_gp, not to vae; "
            "got 3. Leave it at its default 5 or choose one of those models.",
        ),
        ("dcgan", "kl_weight", 0, "not to dcgan; got 0."),
        ("cvae", "critic_steps", 1, "applies only to wgan_gp, not to cvae"),
    ],
)
def test_an_option_the_model_does_not_read_is_refused_naming_both(
    model: str, field: str, value: object, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        TrainSpec.from_json({"model": model, "dataset": "/data/faces", field: value})

    assert message in str(caught.value)


def test_both_unread_options_are_named_at_once() -> None:
    fields = {"model": "gan", "dataset": "/data/faces"}

    with pytest.raises(SpecError) as caught:
        TrainSpec.from_json({**fields, "kl_weight": 2, "critic_steps": 3})

    assert "kl_weight (--kl-weight)" in str(caught.value)
    assert "critic_steps (--critic-steps)" in str(caught.value)


@pytest.mark.parametrize("model", list(MODEL_KINDS))
def test_every_model_accepts_the_default_options_sent_explicitly(model: str) -> None:
    fields = {"model": model, "dataset": "/data/faces", "image_size": 32}

    spec = TrainSpec.from_json({**fields, "kl_weight": 1.0, "critic_steps": 5})

    assert (spec.kl_weight, spec.critic_steps) == (1.0, 5)


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        ("vae", "kl_weight", 4.0),
        ("conv_vae", "kl_weight", 0.5),
        ("cvae", "kl_weight", 2.0),
        ("wgan_gp", "critic_steps", 3),
    ],
)
def test_a_model_accepts_the_options_it_reads(
    model: str, field: str, value: object
) -> None:
    fields = {"model": model, "dataset": "/data/faces", "image_size": 32}

    spec = TrainSpec.from_json({**fields, field: value})

    assert getattr(spec, field) == value


def test_a_kl_weight_of_zero_is_allowed() -> None:
    spec = TrainSpec.from_json({"model": "vae", "dataset": "digits", "kl_weight": 0})

    assert spec.kl_weight == 0.0


def test_dcgan_with_an_unsupported_image_size_names_the_allowed_sizes() -> None:
    spec = {"model": "dcgan", "dataset": "digits", "image_size": 40}

    with pytest.raises(SpecError) as info:
        TrainSpec.from_json(spec)

    assert str(info.value) == (
        "dcgan needs image_size 28, 32 or 64, got 40; set image_size to 32 "
        "(--image-size on the command line)."
    )


@pytest.mark.parametrize("model", ["dcgan", "wgan_gp", "conv_vae"])
@pytest.mark.parametrize("size", [28, 32, 64, None])
def test_conv_models_accept_their_sizes_and_the_datasets_own(
    model: str, size: int | None
) -> None:
    spec = TrainSpec.from_json(
        {"model": model, "dataset": "/data/faces", "image_size": size}
    )

    assert spec.image_size == size


@pytest.mark.parametrize("model", ["dcgan", "wgan_gp", "conv_vae"])
def test_conv_models_refuse_digits_own_8_pixels_before_queueing(model: str) -> None:
    with pytest.raises(
        SpecError, match=f"{model} needs image_size 28, 32 or 64, got 8"
    ):
        TrainSpec.from_json({"model": model, "dataset": "digits"})


@pytest.mark.parametrize("model", ["vae", "gan", "cgan", "cvae"])
def test_mlp_models_take_any_image_size(model: str) -> None:
    spec = TrainSpec.from_json({"model": model, "dataset": "digits", "image_size": 40})

    assert spec.image_size == 40


def test_a_size_past_64_suggests_64() -> None:
    spec = {"model": "wgan_gp", "dataset": "digits", "image_size": 100}

    with pytest.raises(SpecError, match="got 100; set image_size to 64"):
        TrainSpec.from_json(spec)


def test_a_huge_value_is_quoted_short_in_the_message() -> None:
    spec = {"source": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "indices": [1] * 10**5}

    with pytest.raises(SpecError) as refused:
        GenerateSpec.from_json(spec)

    assert len(str(refused.value)) < 200
    assert str(refused.value).startswith(
        "indices must have at most 256 values, got [1, 1,"
    )


def test_a_bad_item_is_named_without_a_second_error_about_its_list() -> None:
    spec = {"source": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "indices": [-1]}

    with pytest.raises(SpecError) as refused:
        GenerateSpec.from_json(spec)

    assert str(refused.value) == "indices[0] must be at least 0, got -1."


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dataset": ""}, "dataset must not be empty, got ''."),
        ({"name": "n" * 201}, "name must have at most 200 characters"),
    ],
)
def test_a_value_of_the_wrong_length_is_named_with_its_limit(
    fields: dict[str, object], message: str
) -> None:
    values = {"model": "vae", "dataset": "digits", "epochs": 1, **fields}

    with pytest.raises(SpecError) as refused:
        TrainSpec.from_json(values)

    assert message in str(refused.value)
    assert "should have" not in str(refused.value)
