"""The public path of the relabelling process of one annotator (numpy only).

`relabel.relabel(predictions, beta, seed)` draws each example's temperature
`T ~ Gamma(1, rate=beta)`, tempers the annotator's distribution to `softmax(log(p) / T)` and
draws its label from that. The code is `imagenet_pi.relabelling.temperature_sampling`; this
module gives its names at the path users and the README import.
"""

from imagenet_pi.relabelling.errors import InvalidPredictionsError
from imagenet_pi.relabelling.temperature_sampling import (
    PROBABILITY_SUM_ATOL,
    SAMPLING_BLOCK_ROWS,
    Process,
    Seed,
    block_generator,
    check_beta,
    check_predictions_array,
    relabel,
    relabel_rows,
    sample_temperatures,
    seed_entropy,
    split_seed,
    tempered_distribution,
)

__all__ = [
    "PROBABILITY_SUM_ATOL",
    "SAMPLING_BLOCK_ROWS",
    "InvalidPredictionsError",
    "Process",
    "Seed",
    "block_generator",
    "check_beta",
    "check_predictions_array",
    "relabel",
    "relabel_rows",
    "sample_temperatures",
    "seed_entropy",
    "split_seed",
    "tempered_distribution",
]
