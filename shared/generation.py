"""The spec of a generation job: images drawn from a finished training job's model.

Like a training spec it is frozen, validated on both sides and travels as JSON. The
model is found by the training job's id in the worker's artifact folder.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import SpecError
from shared.spec import JOB_ID_PATTERN, parse_spec

GenerateMode = Literal["samples", "interpolate", "reconstruct", "classes"]

GENERATE_LIMITS: dict[str, tuple[float, float]] = {
    "count": (1, 1024),
    "steps": (2, 64),
    "seed": (0, 2**32 - 1),
}


class GenerateSpec(BaseModel):
    """What to draw from a trained model, and with which noise."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["generate"] = "generate"
    source: str = Field(pattern=JOB_ID_PATTERN, description="the training job's id")
    mode: GenerateMode = Field(
        default="samples",
        description="samples; interpolate between two seeds; reconstruct dataset "
        "images (VAEs); one row per class (conditional models)",
    )
    count: int = Field(default=64, ge=1, le=1024, description="samples to draw")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="noise of image k")
    seed_b: int | None = Field(
        default=None, ge=0, le=2**32 - 1, description="interpolation end; seed+1"
    )
    steps: int = Field(default=10, ge=2, le=64, description="images in a strip")
    method: Literal["linear", "slerp"] = Field(
        default="slerp", description="slerp keeps z on the Gaussian's shell"
    )
    indices: tuple[Annotated[int, Field(ge=0)], ...] = Field(
        default=(0, 1, 2, 3, 4, 5, 6, 7),
        min_length=1,
        max_length=256,
        strict=False,  # JSON has lists, not tuples
        description="dataset images to reconstruct",
    )
    name: str = Field(default="", max_length=200)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any) -> GenerateSpec:
        """Validate untrusted data (a queue message, a form) into a spec."""
        return parse_spec(cls, data)


# The fields each mode reads; the others keep their defaults and mean nothing.
MODE_FIELDS: dict[str, tuple[str, ...]] = {
    "samples": ("count", "seed"),
    "interpolate": ("seed", "seed_b", "steps", "method"),
    "reconstruct": ("indices",),
    "classes": ("count", "seed"),
}
GENERATE_FIELDS = frozenset(field for names in MODE_FIELDS.values() for field in names)

VAES = frozenset({"vae", "conv_vae", "cvae"})
CONDITIONAL = frozenset({"cgan", "cvae"})


def mode_fits(mode: str, model: str) -> bool:
    """Whether a model of kind ``model`` can draw in ``mode``."""
    if mode == "reconstruct":
        return model in VAES
    if mode == "classes":
        return model in CONDITIONAL
    return True


def check_mode_fits(spec: GenerateSpec, model: str) -> None:
    """Refuse, before queueing, a mode the source's kind of model cannot do."""
    if mode_fits(spec.mode, model):
        return
    if spec.mode == "reconstruct":
        raise SpecError(
            f"reconstruct needs a VAE, and job {spec.source[:8]} trained a {model}; "
            "choose mode samples or interpolate."
        )
    raise SpecError(
        f"classes needs a conditional model (cgan or cvae), and job "
        f"{spec.source[:8]} trained a {model}; choose mode samples."
    )
