"""The order in which an image folder is read when only some of it is wanted.

Files come sorted, so a class folder's images sit together, and the first N of them
would drop whole classes. Here each class (a first-level folder; the root's own
files count as one) is shuffled with a fixed seed, and the classes are interleaved
in proportion to their sizes, so every prefix of the order is a seeded random
sample in which each class has its share, give or take one image.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

# Fixed, not the job's seed: runs with different seeds train on the same subset.
SUBSET_SEED = 0


def balanced_order(
    files: list[Path], root: Path, seed: int = SUBSET_SEED
) -> list[Path]:
    """`files` (under `root`) reordered so any first N are class-balanced."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        parts = path.relative_to(root).parts
        groups[parts[0] if len(parts) > 1 else ""].append(path)

    shuffler = random.Random(seed)
    ranked: list[tuple[float, int, Path]] = []
    for number, name in enumerate(sorted(groups)):
        members = groups[name]
        shuffler.shuffle(members)
        # The k-th of n members sits at (k + 1/2) / n: taking files in order of
        # that fraction deals each class out evenly over the whole order.
        ranked += [((k + 0.5) / len(members), number, p) for k, p in enumerate(members)]
    return [path for _, _, path in sorted(ranked)]
