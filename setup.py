"""imagenet_pi: the ImageNet-PI dataset for TensorFlow Datasets and JAX."""

import os
import pathlib
import re

from setuptools import find_packages, setup

_ROOT = os.path.dirname(os.path.abspath(__file__))
# The version is written once, in the package (`imagenet_pi.__version__`).
_VERSION = re.search(
    r'^__version__ = "([^"]+)"$',
    pathlib.Path(_ROOT, "imagenet_pi", "__init__.py").read_text(encoding="utf-8"),
    re.MULTILINE,
).group(1)

_JAX_EXTRAS = ["jax>=0.4.30", "grain>=0.2.10"]
_TORCH_EXTRAS = ["torch>=2.1"]
# The docs site (docs/): Sphinx with MyST Markdown pages, the CLI reference from argparse,
# the furo theme.
_DOCS_EXTRAS = ["sphinx>=7.2", "myst-parser>=3", "sphinx-argparse>=0.5", "furo>=2024.1"]
_TEST_EXTRAS = [
    "pytest>=8",
    # The code blocks of the README and docs/ pages, found by Sybil's Markdown lexer.
    "sybil>=9",
    "pytest-xdist>=3.2",  # --dist worksteal (pytest.ini)
    "scipy>=1.11",
    "ruff>=0.6",
    *_JAX_EXTRAS,
    *_DOCS_EXTRAS,  # the test suite builds the docs site with warnings as errors
    # The CPU build of this release is what the tests are run with; an unpinned `torch`
    # would pull a multi-GB CUDA build on Linux.
    "torch==2.13.0",
]

setup(
    name="imagenet_pi",
    version=_VERSION,
    description="ImageNet-PI (ILSVRC2012 with privileged information) for TFDS and JAX",
    long_description=pathlib.Path(_ROOT, "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["imagenet_pi", "imagenet_pi.*"]),
    # imagenet_pi/checksums.tsv links to the repository's checksums.tsv: TFDS reads it
    # beside the builder's module, and wheels and sdists carry the file it points to.
    package_data={"imagenet_pi": ["checksums.tsv"]},
    install_requires=[
        "tensorflow>=2.16",
        "tensorflow-datasets>=4.9.9,<5",
        "numpy>=1.24",
        "etils[epath,epy]>=1.5",
        "pyarrow>=14",
        "pillow>=10",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        # TFDS needs these for download_and_prepare, the `tfds` command and tfds.testing,
        # but does not declare them (see README, "TFDS quirks").
        "importlib_resources>=5",
        "apache-beam>=2.50",
        "mlcroissant>=1.0",
        "dill>=0.3",
        "array-record>=0.5",
        # CRC-32C of TFRecord files written by forked build workers, without TensorFlow.
        "google-crc32c>=1.5",
    ],
    extras_require={
        "jax": _JAX_EXTRAS,
        "torch": _TORCH_EXTRAS,
        "docs": _DOCS_EXTRAS,
        "test": _TEST_EXTRAS,
    },
    entry_points={"console_scripts": ["imagenet-pi=imagenet_pi.cli:main"]},
)
