"""Sample quality: the Fréchet distance between real and generated images' features.

After Heusel et al. (2017), "GANs Trained by a Two Time-Scale Update Rule Converge
to a Local Nash Equilibrium", which measures it on Inception-v3 features. Here the
features come from a small CNN trained on the job's own dataset (or, without labels,
a fixed random one), so the metric works offline and on 8x8 or 28x28 images. Its
values are not FID and are not comparable across datasets; hence the name
"fd_classifier", never "fid".

Build a `QualityMeter` once per run from the real images, then `score` generated
ones after each epoch; `floor` is what real images score against real images.
"""

from worker.quality.features import FeatureExtractor, dataset_key
from worker.quality.frechet import frechet_distance, frechet_from_stats, gaussian_stats
from worker.quality.meter import METRIC_NAME, QualityMeter, draw_samples

__all__ = [
    "METRIC_NAME",
    "FeatureExtractor",
    "QualityMeter",
    "dataset_key",
    "draw_samples",
    "frechet_distance",
    "frechet_from_stats",
    "gaussian_stats",
]
