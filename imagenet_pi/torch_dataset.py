"""ImageNet-PI as a PyTorch `Dataset`, read by random access from a built array_record dataset.

A stand-in for the upstream `imagenet_pi_torch.ImageNetPI`: same item order
`(image, clean_target, confidences, annotator_labels)`, torchvision-style `transform`
and `target_transform`, and the `annotator_features` property; but it reads the
dataset this package's TFDS builder wrote (no extracted ImageNet, no CSV parsing at
start-up), so it opens in milliseconds.

    from imagenet_pi.torch_dataset import ImageNetPI

    train = ImageNetPI(split="train", config="high_noise", transform=my_transform)
    image, clean_target, confidences, annotator_labels = train[0]

torch is an optional dependency (`pip install "imagenet_pi[torch]"`); `import imagenet_pi`
never imports it.
"""

from __future__ import annotations

import io
import operator
import os
from collections.abc import Callable, Sequence
from typing import Any

try:
    import torch
    import torch.utils.data
except ImportError as error:
    raise ImportError(
        "imagenet_pi.torch_dataset needs PyTorch, which is not installed: run "
        '`pip install "imagenet_pi[torch]"` (on a machine without a GPU, install the CPU '
        "build of torch first, see https://pytorch.org/get-started/locally/)."
    ) from error

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from imagenet_pi import built_datasets, damaged_builds, synsets
from imagenet_pi.generation import example_index

# Upstream (torchvision's ImageNet) names the validation split "val".
_SPLIT_ALIASES = {"val": "validation"}

# The process that has read array_record files, if any. Once a process has read, a process
# forked from it crashes (SIGSEGV) or hangs when it reads: riegeli, under array_record, keeps
# a background thread for its zstd decoders that fork does not copy.
_reading_pid: int | None = None


def _check_not_forked_after_reading() -> None:
    global _reading_pid
    if _reading_pid is not None and _reading_pid != os.getpid():
        raise RuntimeError(
            f"ImageNetPI: this process ({os.getpid()}) was forked from process {_reading_pid} "
            "after that process had read the dataset, and array_record cannot read after "
            "such a fork (it would crash). Start DataLoader workers without fork: "
            'DataLoader(..., multiprocessing_context="forkserver") (or "spawn"); or read no '
            "example in the main process before its DataLoader workers start."
        )
    _reading_pid = os.getpid()


class ImageNetPI(torch.utils.data.Dataset):
    """One split of a built ImageNet-PI config, as a map-style PyTorch dataset.

    Items, by default in the upstream order:
      image: `transform(PIL.Image)`, or the RGB `PIL.Image` itself when `transform` is None.
      clean_target: `target_transform(int)`, the ILSVRC2012 class index (0..999), or the int.
      confidences: `(16,) float32` tensor, each annotator's confidence in its label.
      annotator_labels: `(16,) int64` tensor, the annotators' class indices (0..999).

    With `as_dict=True`, a dict of every feature instead: `image`, `file_name` (str),
    `clean_label`, `annotator_labels`, `annotator_confidences`, `annotator_features`
    (`(16, 2) float32` tensor), with the transforms applied to `image` and `clean_label`.

    The dataset pickles to its arguments and opens its files again in each process that
    reads it, so it works in `DataLoader` workers (fork or spawn) and with a
    `DistributedSampler`.

    Args:
      data_dir: the TFDS data_dir the config was built in; None for TFDS's default
        (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
      split: "train", "validation" (or "val", as upstream), or any TFDS split string such
        as "train[:10%]" (or `tfds.core.ReadInstruction`); one split, never None.
      config: "high_noise" or "low_noise".
      transform: called on each RGB `PIL.Image` (e.g. a torchvision transform).
      target_transform: called on each clean class index.
      as_dict: return a dict of every feature instead of the upstream tuple.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        split: str = "train",
        config: str = "high_noise",
        transform: Callable[[Image.Image], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        as_dict: bool = False,
    ) -> None:
        if isinstance(split, str) and split:
            split = _SPLIT_ALIASES.get(split, split)
        elif not isinstance(split, tfds.core.ReadInstruction):
            # TFDS would read every split as a dict: len 2, then KeyError on the first item.
            raise ValueError(
                f"split: expected 'train', 'validation' (or 'val'), or a TFDS split string such "
                f"as 'train[:10%]', found {split!r}"
            )
        self.data_dir = os.fspath(data_dir) if data_dir is not None else None
        self.split = split
        self.config = config
        self.transform = transform
        self.target_transform = target_transform
        self.as_dict = as_dict
        self._builder: tfds.core.DatasetBuilder | None = None
        self._source: Sequence[bytes] | None = None
        self._built_split: damaged_builds.BuiltSplit | None = None
        self._source_pid: int | None = None
        self._index: example_index.ExampleIndex | None = None
        self._open()  # fail here, not in a worker, when the dataset is missing

    def _open(self) -> Sequence[bytes]:
        """The split's serialized examples, by random access."""
        # A reader opened in another process (inherited through fork) is not ours to use.
        if self._source is None or self._source_pid != os.getpid():
            self._builder = built_datasets.open_built(
                f"imagenet_pi/{self.config}",
                self.data_dir,
                file_format="array_record",
                reader="the PyTorch dataset (random access)",
            )
            # Raw records, deserialized here: a record of a file cut short reads as b"",
            # which is then named as damage instead of failing as a missing feature.
            self._source = self._builder.as_data_source(
                split=self.split, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES
            )
            self._built_split = damaged_builds.BuiltSplit.of(self._builder, self.split)
            self._source_pid = os.getpid()
        return self._source

    def __getstate__(self) -> dict[str, Any]:
        return {
            "data_dir": self.data_dir,
            "split": self.split,
            "config": self.config,
            "transform": self.transform,
            "target_transform": self.target_transform,
            "as_dict": self.as_dict,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._builder = None
        self._source = None
        self._built_split = None
        self._source_pid = None
        self._index = None

    def __len__(self) -> int:
        return len(self._open())

    def __getitem__(self, index: int) -> tuple[Any, Any, torch.Tensor, torch.Tensor] | dict:
        """Item `index`; negative indices count from the end, as in a Python sequence."""
        return self._items([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list:
        """Reads a whole batch at once (DataLoader calls this with a batch's indices)."""
        return self._items(indices)

    def _items(self, indices: Sequence[int]) -> list:
        source = self._open()
        positions = [self._position(index, len(source)) for index in indices]
        _check_not_forked_after_reading()
        try:
            records = source.__getitems__(positions)
        except (RuntimeError, OSError) as error:  # array_record's errors name no file
            raise self._built_split.read_error(str(error), positions) from error
        self._built_split.check_records(records, positions)
        return [self._item(record) for record in records]

    @staticmethod
    def _position(index: Any, length: int) -> int:
        """`index` as a position in 0..length-1, checked as a Python sequence checks it."""
        try:
            position = operator.index(index)  # ints, numpy ints, 0-d integer tensors
        except TypeError:
            raise TypeError(
                f"ImageNetPI indices must be integers, not {type(index).__name__} ({index!r}); "
                "for a part of the dataset use torch.utils.data.Subset(dataset, indices)"
            ) from None
        if not -length <= position < length:
            raise IndexError(
                f"ImageNetPI index {position} is out of range: the dataset holds {length} "
                f"examples (indices {-length}..{length - 1})"
            )
        return position % length

    def _item(self, record: bytes) -> tuple[Any, Any, torch.Tensor, torch.Tensor] | dict:
        example = self._builder.info.features.deserialize_example_np(
            record, decoders={"image": tfds.decode.SkipDecoding()}
        )
        image = Image.open(io.BytesIO(example["image"])).convert("RGB")
        if self.transform is not None:
            image = self.transform(image)
        clean_label = int(example["clean_label"])
        if self.target_transform is not None:
            clean_label = self.target_transform(clean_label)
        annotator_labels = torch.from_numpy(np.array(example["annotator_labels"], np.int64))
        confidences = torch.from_numpy(np.array(example["annotator_confidences"], np.float32))
        if not self.as_dict:
            return image, clean_label, confidences, annotator_labels
        return {
            "image": image,
            "file_name": example["file_name"].decode("utf-8"),
            "clean_label": clean_label,
            "annotator_labels": annotator_labels,
            "annotator_confidences": confidences,
            "annotator_features": torch.from_numpy(
                np.array(example["annotator_features"], np.float32)
            ),
        }

    @property
    def annotator_features(self) -> torch.Tensor:
        """`(16, 2) float32`: per annotator, normalised accuracy and log parameter count."""
        self._open()
        return torch.from_numpy(built_datasets.annotator_features_of(self._builder))

    @property
    def synsets(self) -> list[str]:
        """The 1000 ILSVRC2012 synset ids; `clean_target` and annotator labels index it."""
        self._open()
        return list(self._builder.info.features["clean_label"].names)

    # torchvision's `ImageNet` attributes, with the same meanings.
    @property
    def wnids(self) -> list[str]:
        """The 1000 WordNet ids (synsets), in class-index order."""
        return self.synsets

    @property
    def wnid_to_idx(self) -> dict[str, int]:
        """WordNet id -> class index."""
        return {wnid: index for index, wnid in enumerate(self.wnids)}

    @property
    def classes(self) -> list[tuple[str, ...]]:
        """Per class index, the tuple of its names (`('tench', 'Tinca tinca')`).

        Names come from TFDS's ImageNet class-name list; where it is missing, each
        class is named by its WordNet id alone (`('n01440764',)`).
        """
        names = synsets.class_names()
        if names is None or len(names) != len(self.wnids):
            return [(wnid,) for wnid in self.wnids]
        return [tuple(name.split(", ")) for name in names]

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Every class name -> its class index (a name given to two classes maps to the last)."""
        return {name: index for index, names in enumerate(self.classes) for name in names}

    @property
    def targets(self) -> list[int]:
        """The clean class index of every item, in index order; no image is read.

        Read from the build's example index (written by dataset version 3.0.0 and later;
        a few kB per 1000 examples).

        Raises:
          ValueError: the build has no example index (an older version, or a debug build
            of a few examples per split).
        """
        return self._example_index().clean_labels.tolist()

    @property
    def upstream_order(self) -> list[int]:
        """Indices in upstream's order (torchvision's folders: by class, then file name).

        `torch.utils.data.Subset(dataset, dataset.upstream_order)` iterates the split in
        the order of upstream's `ImageNetPI`; no image is read. Raises like `targets`.
        """
        return self._example_index().upstream_order.tolist()

    def _example_index(self) -> example_index.ExampleIndex:
        if self._index is None:
            self._open()
            self._index = example_index.for_split_string(self._builder, self.split)
            if self._index is None:
                raise ValueError(
                    f"imagenet_pi/{self.config} in {self._builder.data_dir} has no example "
                    f"index for split {self.split!r} (example_index-<split>.npz, written by "
                    "dataset version 3.0.0 and later for complete splits), so `targets` and "
                    "`upstream_order` would have to read every image. Build it again with this "
                    "version of imagenet_pi, without --max_examples_per_split; or read the "
                    "labels yourself: [item['clean_label'] for item in "
                    "ImageNetPI(..., as_dict=True)] (slow: it decodes every image)."
                )
        return self._index

    def __repr__(self) -> str:
        return (
            f"ImageNetPI(config={self.config!r}, split={self.split!r}, "
            f"data_dir={self.data_dir!r}, num_examples={len(self)})"
        )
