"""`relabel.json`: what `imagenet-pi relabel` records is read back, checked, by name."""

from __future__ import annotations

import json

import pytest

from imagenet_pi.relabelling import relabel_metadata
from imagenet_pi.relabelling.errors import RelabelFileError


def test_metadata_reads_back_as_written(tmp_path):
    metadata = {"beta": 0.3, "seed": [1, 2], "models": ["VGG16"], "splits": ["train"]}
    relabel_metadata.write_metadata(tmp_path, metadata)
    read = relabel_metadata.read_metadata(tmp_path)
    assert read == metadata
    assert relabel_metadata.metadata_beta(tmp_path, read) == 0.3
    assert relabel_metadata.metadata_seed(tmp_path, read) == (1, 2)


def test_a_folder_without_relabel_json_has_no_metadata(tmp_path):
    relabel_metadata.write_metadata(tmp_path, {"beta": 0.3})
    relabel_metadata.remove_metadata(tmp_path)
    assert relabel_metadata.read_metadata(tmp_path) is None
    assert relabel_metadata.metadata_beta(tmp_path, {}) is None


@pytest.mark.parametrize("seed", [True, [1, False]])
def test_a_boolean_seed_is_refused_naming_the_file(tmp_path, seed):
    (tmp_path / relabel_metadata.METADATA_FILE).write_text(json.dumps({"seed": seed}))
    metadata = relabel_metadata.read_metadata(tmp_path)
    with pytest.raises(RelabelFileError) as error:
        relabel_metadata.metadata_seed(tmp_path, metadata)
    assert str(error.value).startswith(f"{tmp_path / 'relabel.json'}: seed: expected an int >= 0")
