"""What the dataset says about itself: its description, homepage, citation, and how to get
ILSVRC2012 (the text TFDS shows when the manual_dir is missing)."""

from __future__ import annotations

from imagenet_pi import upstream

HOMEPAGE = f"{upstream.REPO_URL}/"

DESCRIPTION = """\
ImageNet-PI is ILSVRC2012 relabelled by 16 pretrained `tf.keras.applications`
models. Each image carries 16 noisy annotator labels (each drawn from the model's
predictive distribution tempered by a random temperature T ~ Gamma(1, rate=beta)),
the 16 models' confidences in the labels they gave, and a 16x2 table of annotator
features (normalised model accuracy and log parameter count). This privileged
information (PI) is available at training time only. `clean_label` is the
original ILSVRC2012 label.
"""

CITATION = """\
@inproceedings{ortizjimenez2023when,
  title     = {When does Privileged Information Explain Away Label Noise?},
  author    = {Ortiz-Jimenez, Guillermo and Collier, Mark and Nawalgaria, Anant and
               D'Amour, Alexander and Berent, Jesse and Jenatton, Rodolphe and
               Kokiopoulou, Effrosyni},
  booktitle = {International Conference on Machine Learning (ICML)},
  year      = {2023},
}
"""

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put the two ILSVRC2012 archives, as downloaded and unextracted, in the manual_dir
(default: ~/tensorflow_datasets/downloads/manual/):

  <manual_dir>/{upstream.TRAIN_TAR}   (147,897,477,120 bytes)
  <manual_dir>/{upstream.VAL_TAR}     (6,744,924,160 bytes)

Register at https://image-net.org/download-images to get them. Instead of the
tars, the manual_dir may hold extracted train/<synset>/ and val/ folders, the
Kaggle copy (ILSVRC/Data/CLS-LOC/{{train,val}}), or an imagenet2012/<version>/
folder prepared by TFDS; see "Getting ILSVRC2012 into place" in the docs of
imagenet_pi (docs/ilsvrc2012.md).

The ImageNet-PI CSVs are downloaded from the upstream repository and checked
against pinned sha256 sums. If that download fails (GitHub's LFS quota), clone
{upstream.REPO_URL} with git lfs installed and
put the clone at <manual_dir>/imagenet_pi/ (so that
<manual_dir>/imagenet_pi/high_noise/labels/train.csv exists); those files are then
used and nothing is downloaded. A folder <manual_dir>/<config>/ in the same layout,
or TFDS's own imagenet_pi layout (<manual_dir>/labels/{{train,validation}}.csv and
<manual_dir>/confidences/{{train,validation}}.csv of a released config) serve too.
"""
