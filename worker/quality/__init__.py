"""Sample quality: the Fréchet distance between real and generated images' features.

After Heusel et al. (2017), "GANs Trained by a Two Time-Scale Update Rule Converge
to a Local Nash Equilibrium", which measures it on Inception-v3 features. By default
the features come from a small CNN trained on the job's own dataset (or, without
labels, a fixed random one), so the metric works offline and on 8x8 images. Its
values are not FID and are not comparable across datasets; hence the name
"fd_classifier", never "fid".

With Inception weights in place (see inception.py) the metric is FID proper,
named "fid_inception", on the 2048 features of the net Heusel et al. used.

Build a `QualityMeter` once per run from the real images (`build_meter` picks the
features), then `score` generated ones after each epoch; `floor` is what real images
score against real images.
"""

from worker.quality.choice import build_meter
from worker.quality.features import METRIC_NAME, FeatureExtractor, dataset_key
from worker.quality.frechet import (
    frechet_distance,
    frechet_from_samples,
    frechet_from_stats,
    gaussian_stats,
    sample_gaussian,
)
from worker.quality.inception import InceptionExtractor, InceptionWeightsError
from worker.quality.meter import QualityMeter, draw_samples

__all__ = [
    "METRIC_NAME",
    "FeatureExtractor",
    "InceptionExtractor",
    "InceptionWeightsError",
    "QualityMeter",
    "build_meter",
    "dataset_key",
    "draw_samples",
    "frechet_distance",
    "frechet_from_samples",
    "frechet_from_stats",
    "gaussian_stats",
    "sample_gaussian",
]
