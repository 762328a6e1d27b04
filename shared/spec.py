"""Job specs: frozen, validated values that travel through the queue as JSON.

A spec is checked twice, by the client before it submits and by the worker before it
trains, so a message put on the queue by hand is held to the same rules.
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from shared.errors import SpecError

ModelKind = Literal["vae", "conv_vae", "cvae", "gan", "dcgan", "wgan_gp", "cgan"]

# One line per model for the command line and the app, in the order they list them.
MODEL_KINDS: dict[str, str] = {
    "vae": "VAE (Kingma and Welling 2014), MLP, any size",
    "conv_vae": "Convolutional VAE (Kingma and Welling 2014), conv, 28/32/64 px",
    "cvae": "Conditional VAE (Sohn et al. 2015), MLP, needs labels",
    "gan": "GAN (Goodfellow et al. 2014), MLP, any size",
    "dcgan": "DCGAN (Radford et al. 2016), conv, 28/32/64 px",
    "wgan_gp": "WGAN-GP (Gulrajani et al. 2017), conv, 28/32/64 px",
    "cgan": "Conditional GAN (Mirza and Osindero 2014), MLP, needs labels",
}

# The published defaults: Kingma and Welling's Adam setting for the VAEs, the DCGAN
# paper's 2e-4 for the GANs, where 1e-3 tends to collapse the generator, and the
# WGAN-GP paper's 1e-4.
DEFAULT_LR = {
    "vae": 1e-3,
    "conv_vae": 1e-3,
    "cvae": 1e-3,
    "gan": 2e-4,
    "dcgan": 2e-4,
    "wgan_gp": 1e-4,
    "cgan": 2e-4,
}

# Conv stacks halve the side with stride-2 layers down to a small base grid, which
# only these sides reach exactly.
CONV_MODELS = frozenset({"conv_vae", "dcgan", "wgan_gp"})
DIGITS_SIDE = 8
CONV_IMAGE_SIZES = (28, 32, 64)
CONV_SIZES_TEXT = "28, 32 or 64"
# These draw one row of samples per class and train on (image, label) pairs.
CONDITIONAL_MODELS = frozenset({"cvae", "cgan"})
VAE_MODELS = frozenset({"vae", "conv_vae", "cvae"})
# Options only some models read, with the models that read them. Another model is
# refused a value other than the default, which it would silently ignore.
MODEL_OPTIONS: dict[str, frozenset[str]] = {
    "kl_weight": VAE_MODELS,
    "critic_steps": frozenset({"wgan_gp"}),
}

# Allowed ranges, kept in one place so the command line, the app and the error
# messages all say the same thing.
LIMITS: dict[str, tuple[float, float]] = {
    "epochs": (1, 10_000),
    "batch_size": (1, 8192),
    "lr": (1e-6, 1.0),
    "latent_dim": (1, 1024),
    "seed": (0, 2**32 - 1),
    "image_size": (4, 256),
    "max_images": (1, 10_000_000),
    "kl_weight": (0.0, 100.0),
    "critic_steps": (1, 20),
}

# Errors whose message is already a whole sentence for people.
_SENTENCE_ERRORS = frozenset({"conv_image_size", "option_model"})

# Pydantic's length errors: whether the value was too short, and what it counts.
_LENGTH_ERRORS = {
    "string_too_short": ("at least", "character"),
    "string_too_long": ("at most", "character"),
    "too_short": ("at least", "value"),
    "too_long": ("at most", "value"),
}


def nearest_conv_size(size: int) -> int:
    """The supported conv image side closest to `size`, to suggest in messages."""
    return min(CONV_IMAGE_SIZES, key=lambda allowed: abs(allowed - size))


def unused_options(model: str) -> list[str]:
    """The options in MODEL_OPTIONS that `model` does not read."""
    return [name for name, models in MODEL_OPTIONS.items() if model not in models]


def _names(models: frozenset[str]) -> str:
    ordered = [kind for kind in MODEL_KINDS if kind in models]
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + " and " + ordered[-1]


def _limit(name: str, **extra: Any) -> Any:
    low, high = LIMITS[name]
    return Field(ge=low, le=high, **extra)


SpecT = TypeVar("SpecT", bound=BaseModel)

# Job ids are lower-case UUIDs; a spec that names one is held to that form.
JOB_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
JOB_ID_EXAMPLE = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
# Longer than any path a file system takes (PATH_MAX is 4096 on Linux).
MAX_DATASET_CHARS = 4096


def is_job_id(text: object) -> bool:
    """Whether `text` has the form of a genqueue job id, a lower-case UUID."""
    return isinstance(text, str) and re.fullmatch(JOB_ID_PATTERN, text) is not None


class TrainSpec(BaseModel):
    """Everything a worker needs to run one training job."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["train"] = "train"
    model: ModelKind = Field(description="one of MODEL_KINDS")
    dataset: str = Field(
        min_length=1,
        max_length=MAX_DATASET_CHARS,
        description="'digits', an MNIST IDX file or folder, or an image folder",
    )
    epochs: int = _limit(
        "epochs", default=5, description="full passes over the dataset"
    )
    batch_size: int = _limit(
        "batch_size", default=128, description="images per optimizer step"
    )
    lr: float = _limit(
        "lr",
        default=1e-3,
        description="Adam learning rate; GAN default 2e-4, both networks",
    )
    latent_dim: int = _limit("latent_dim", default=20, description="size of z")
    seed: int = _limit(
        "seed",
        default=0,
        description="seeds weights, shuffling and the fixed sample noise",
    )
    name: str = Field(
        default="", max_length=200, description="a label for people; not unique"
    )
    image_size: int | None = _limit(
        "image_size",
        default=None,
        description="pixels per side; None keeps the dataset's own (image folders: 28)",
    )
    channels: Literal[1, 3] | None = Field(
        default=None,
        description="1 grey or 3 RGB; None keeps the dataset's own (image folders: 3)",
    )
    resume_from: str | None = Field(
        default=None,
        pattern=JOB_ID_PATTERN,
        description="the id of a training job to continue from its last checkpoint",
    )
    max_images: int | None = _limit(
        "max_images",
        default=None,
        description=(
            "train on N images only: a seeded, class-balanced sample of an image "
            "folder, the first N of an array dataset; None uses all"
        ),
    )
    kl_weight: float = _limit(
        "kl_weight",
        default=1.0,
        description="VAEs: beta, the weight of the KL term (Higgins et al. 2017)",
    )
    critic_steps: int = _limit(
        "critic_steps",
        default=5,
        description="wgan_gp: critic updates per generator update (n_critic)",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_lr(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and "lr" not in data
            and data.get("model") in DEFAULT_LR
        ):
            return {**data, "lr": DEFAULT_LR[data["model"]]}
        return data

    @model_validator(mode="after")
    def _conv_image_size(self) -> TrainSpec:
        size = self.image_size
        # digits is the one dataset whose own size (8) is known without reading it.
        if size is None and self.dataset.lower() == "digits":
            size = DIGITS_SIDE
        if self.model not in CONV_MODELS or size is None or size in CONV_IMAGE_SIZES:
            return self
        raise PydanticCustomError(
            "conv_image_size",
            f"{self.model} needs image_size {CONV_SIZES_TEXT}, got {size}; set "
            f"image_size to {nearest_conv_size(size)} (--image-size on the command "
            "line).",
        )

    @model_validator(mode="after")
    def _options_fit_model(self) -> TrainSpec:
        refusals = []
        for name in unused_options(self.model):
            value, default = getattr(self, name), TrainSpec.model_fields[name].default
            if value == default:
                continue
            flag = "--" + name.replace("_", "-")
            refusals.append(
                f"{name} ({flag}) applies only to {_names(MODEL_OPTIONS[name])}, "
                f"not to {self.model}; got {format_limit(value)}. Leave it at its "
                f"default {format_limit(default)} or choose one of those models."
            )
        if refusals:
            raise PydanticCustomError("option_model", " ".join(refusals))
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any) -> TrainSpec:
        """Validate untrusted data (a queue message, a form) into a spec."""
        return parse_spec(cls, data)


def parse_spec(cls: type[SpecT], data: Any) -> SpecT:
    if not isinstance(data, dict):
        raise SpecError(f"A job spec must be a JSON object, got {type(data).__name__}.")
    data = _coerce_numbers(cls, data)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise SpecError(describe_errors(exc)) from None


def _coerce_numbers(cls: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Accept 1 where a float is wanted; strict mode would refuse the int."""
    float_fields = {n for n, f in cls.model_fields.items() if f.annotation is float}
    return {
        k: float(v) if k in float_fields and type(v) is int else v
        for k, v in data.items()
    }


def describe_errors(exc: ValidationError) -> str:
    """Turn pydantic's errors into sentences that name the field, value and range.

    An error about a whole list is left out when one of its items has its own: the
    item's is the cause.
    """
    errors = exc.errors()
    locations = [tuple(err["loc"]) for err in errors]
    causes = [
        err
        for err, loc in zip(errors, locations, strict=True)
        if not any(other[: len(loc)] == loc and other != loc for other in locations)
    ]
    return " ".join(_describe(err) for err in causes)


def format_limit(value: float) -> str:
    """A range end as people write it: 4294967295, not 4.29497e+09."""
    return (
        f"{value:g}" if value < 1 or not float(value).is_integer() else f"{int(value)}"
    )


def _field_name(location: tuple[Any, ...]) -> str:
    """How a message names a field: indices[1] for a list's second item."""
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "spec"


def _describe(err: Any) -> str:
    field = _field_name(tuple(err["loc"]))
    value = _shown(err.get("input"))
    if err["type"] in _SENTENCE_ERRORS:
        return str(err["msg"])
    if err["type"] == "extra_forbidden":
        return f"Unknown field {field!r}; remove it."
    if err["type"] == "missing":
        return f"{field} is required."
    if err.get("ctx", {}).get("pattern") == JOB_ID_PATTERN:
        example = JOB_ID_EXAMPLE
        return f"{field} must be a job id, a UUID such as {example}, got {value}."
    bounds = {"greater_than_equal": "at least", "less_than_equal": "at most"}
    if err["type"] in bounds and field not in LIMITS:
        limit = format_limit(next(iter(err["ctx"].values())))
        return f"{field} must be {bounds[err['type']]} {limit}, got {value}."
    if err["type"] in bounds:
        low, high = LIMITS[field]
        span = f"{format_limit(low)} and {format_limit(high)}"
        return f"{field} must be between {span}, got {value}."
    if err["type"] in _LENGTH_ERRORS:
        return _describe_length(field, value, err)
    return f"{field}={value} is not valid: {err['msg']}."


def _describe_length(field: str, value: str, err: Any) -> str:
    bound, unit = _LENGTH_ERRORS[err["type"]]
    ctx = err.get("ctx", {})
    count = int(ctx.get("min_length" if bound == "at least" else "max_length", 0))
    if bound == "at least" and count == 1:
        return f"{field} must not be empty, got {value}."
    plural = "" if count == 1 else "s"
    return f"{field} must have {bound} {count} {unit}{plural}, got {value}."


def _shown(value: Any) -> str:
    """The value as a message quotes it, cut short: a forged spec may hold megabytes."""
    if isinstance(value, str) and len(value) > 60:
        value = value[:57] + "..."
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
