"""The feature nets on disk: weights as safetensors, and a JSON record of what they are.

Both are written to a temporary name and renamed, so two workers building the same
net at once each leave a whole file, and a reader never sees half of one. Weights
are read with safetensors only, since a cache folder may be shared.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from shared.files import write_with
from worker.quality.network import FEATURE_DIM, FeatureNet

logger = logging.getLogger(__name__)

# Raised whenever the net's layers or training change, so older files are rebuilt.
VERSION = 1
_UNREADABLE = (OSError, ValueError, LookupError, TypeError, SafetensorError)


@dataclass(frozen=True, kw_only=True)
class FeatureRecord:
    """What a cached net is: "classifier" (trained) or "random", and for what data.

    held_out_accuracy is None for random features.
    """

    kind: str
    image_shape: tuple[int, int, int]
    num_classes: int
    dataset: str
    seed: int
    held_out_accuracy: float | None = None
    train_images: int = 0
    held_out_images: int = 0
    epochs: int = 0
    feature_dim: int = FEATURE_DIM
    version: int = VERSION


def save_net(cache_dir: Path, key: str, net: FeatureNet, record: FeatureRecord) -> None:
    """Write <key>.safetensors and <key>.json into cache_dir."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    metadata = {"kind": record.kind, "version": str(VERSION)}
    write_with(
        cache_dir / f"{key}.safetensors",
        lambda tmp: save_file(tensors, tmp, metadata=metadata),
    )
    text = json.dumps(asdict(record), indent=2, ensure_ascii=False) + "\n"
    write_with(cache_dir / f"{key}.json", lambda tmp: Path(tmp).write_text(text))


def load_net(
    cache_dir: Path, key: str, image_shape: tuple[int, int, int]
) -> tuple[FeatureNet, FeatureRecord] | None:
    """The cached net for `key`, or None when there is none that fits."""
    record_path = cache_dir / f"{key}.json"
    if not record_path.is_file():
        return None

    try:
        record = _read_record(record_path)
        if record.version != VERSION or record.image_shape != image_shape:
            logger.info("cached feature net %s is for other data; rebuilding", key)
            return None
        net = FeatureNet(image_shape[0], record.num_classes)
        net.load_state_dict(load_file(cache_dir / f"{key}.safetensors"))
    except (*_UNREADABLE, RuntimeError) as exc:
        logger.warning("cannot read cached feature net %s (%s); rebuilding", key, exc)
        return None
    return net.eval(), record


def _read_record(path: Path) -> FeatureRecord:
    document = json.loads(path.read_text())
    shape = document.pop("image_shape")
    image_shape = (int(shape[0]), int(shape[1]), int(shape[2]))
    return FeatureRecord(image_shape=image_shape, **document)
