"""The public path of relabelling: a predictions folder in, a config folder out.

`relabelled_configs.relabel_config(predictions_dir, out_dir, beta, seed)` is what
`imagenet-pi relabel` runs. The code is `imagenet_pi.relabelling.relabelled_configs`; this
module gives its names at the path users and the README import.
"""

from imagenet_pi.relabelling.relabelled_configs import relabel_config, write_relabelled_config

__all__ = ["relabel_config", "write_relabelled_config"]
