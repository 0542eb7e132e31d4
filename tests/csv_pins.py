"""Test helpers: the imagenet_pi builder with a checksums.tsv of the test's own.

Production pins the released CSVs in checksums.tsv, which TFDS reads beside the
builder's module, and downloads them from `Builder.CSV_URL_ROOT`. A test builder
overrides exactly those two: synthetic CSVs then pass for a released config, and
downloads go to a local address, never to the network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import os
import shutil
import socket
import threading
from collections.abc import Iterator

import imagenet_pi
from imagenet_pi import fake_data, internals, upstream
from imagenet_pi.annotations import origins, releases


def write_checksums(
    path: str, files_by_config: dict[str, dict[str, str]], url_root: str = upstream.LFS_URL_ROOT
) -> str:
    """A checksums.tsv pinning `<url_root>/<config>/<rel>` to the size and sha256 of each file.

    Args:
      files_by_config: config -> relative path -> local file whose size and sha256 to pin.
    """
    with open(path, "w") as f:
        for config, files in files_by_config.items():
            for rel, local in files.items():
                url = upstream.lfs_url(config, rel, url_root)
                size, digest = os.path.getsize(local), releases.sha256_of(local)
                name = f"{config}_{rel.replace('/', '_')}"
                f.write(f"{url}\t{size}\t{digest}\t{name}\n")
    return path


def copy_checksums(path: str, url_root: str) -> str:
    """The real checksums.tsv with its URLs moved under `url_root` (sizes and sha256 kept)."""
    text = internals.checksums_path(imagenet_pi.Builder).read_text()
    with open(path, "w") as f:
        f.write(text.replace(upstream.LFS_URL_ROOT, url_root))
    return path


def builder_class(
    checksums_tsv: str, url_root: str = upstream.LFS_URL_ROOT
) -> type[imagenet_pi.Builder]:
    """`imagenet_pi.Builder` reading `checksums_tsv` and downloading from `url_root`."""
    return type(
        "ImagenetPiWithTestPins",
        (imagenet_pi.Builder,),
        {
            "name": "imagenet_pi",
            # TFDS looks for a builder's data files in its module's package; a module name
            # of its own keeps TFDS's module -> builders table of imagenet_pi as it is.
            "__module__": "imagenet_pi.test_pinned_builder",
            "CSV_URL_ROOT": url_root,
            **internals.checksums_path_override(checksums_tsv),
        },
        skip_registration=True,
    )


def closed_port_url_root() -> str:
    """An http root on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/media"


def no_network_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with every proxy set to a closed local port: a stray request fails locally."""
    closed = closed_port_url_root().rsplit("/", 1)[0]
    return {
        **env,
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


@contextlib.contextmanager
def local_server(
    files_dir: str | None = None, status: int = 200, body: bytes = b""
) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 in a thread; yields its root URL (`http://127.0.0.1:<port>`).

    It serves the files of `files_dir`, or answers every GET with `status` and `body`
    (GitHub's LFS answers 403 "over its data quota" when the bandwidth is spent).
    """

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=files_dir or os.getcwd(), **kwargs)

        def do_GET(self):
            if files_dir is not None:
                return super().do_GET()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None

        def log_message(self, *args):  # keep test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- TFDS's imagenet_pi layout in a manual_dir, as released files -----------------------


@dataclasses.dataclass
class FlatSample:
    manual_dir: str
    sample: fake_data.FakeIlsvrc
    released: dict[str, dict[str, str]]  # config -> rel -> synthetic "released" file
    checksums: str  # a checksums.tsv pinning `released` at the upstream URLs
    builder_cls: type[imagenet_pi.Builder]


def write_flat_sample(tmp_path) -> FlatSample:
    """Tars plus high_noise's synthetic CSVs in TFDS's layout, annotator_features.csv beside.

    Both configs' synthetic CSVs are pinned as the released ones (`FlatSample.checksums`,
    read by `FlatSample.builder_cls`). The fixture `flat_sample` (tests/conftest.py).
    """
    manual_dir = str(tmp_path / "manual")
    sample = fake_data.write_ilsvrc_tars(manual_dir, **fake_data.SMALL_SAMPLE)
    released = {}
    for config, level in upstream.NOISE_LEVELS.items():
        folder = str(tmp_path / "released" / config)
        fake_data.write_annotations(
            folder,
            {"train": sample.train_file_names, "validation": sample.validation_file_names},
            {"train": sample.train_clean_labels, "validation": sample.validation_clean_labels},
            beta=level.beta,
        )
        released[config] = origins.files_in_dir(folder)
    copy_flat(
        released["high_noise"],
        manual_dir,
        [*upstream.split_csv_relpaths(), upstream.ANNOTATOR_FEATURES_RELPATH],
    )
    checksums = write_checksums(str(tmp_path / "checksums.tsv"), released)
    return FlatSample(manual_dir, sample, released, checksums, builder_class(checksums))


def copy_flat(files: dict[str, str], manual_dir: str, rels) -> None:
    """Copies the files `rels` (relative path -> file in `files`) to `manual_dir`."""
    for rel in rels:
        os.makedirs(os.path.dirname(os.path.join(manual_dir, rel)), exist_ok=True)
        shutil.copyfile(files[rel], os.path.join(manual_dir, rel))
