"""TensorFlow's start-up lines filtered from stderr, and nothing set before `main` runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def _clean_environment() -> dict[str, str]:
    """The caller's environment without any TensorFlow logging setting."""
    return {name: value for name, value in os.environ.items() if not name.startswith("TF_")}


def test_start_up_filter_keeps_every_other_line_of_stderr():
    script = textwrap.dedent(
        """
        import os, sys
        from imagenet_pi.cli import quiet

        with quiet.filtered_stderr(quiet.TENSORFLOW_START_UP_NOISE):
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                        b"are written to STDERR\\n")
            os.write(2, b"I0000 00:00:1796161583.528873   19851 port.cc:153] oneDNN custom "
                        b"operations are on.\\n")
            os.write(2, b"E0000 00:00:1796161599.338442   19851 cuda_platform.cc:52] failed "
                        b"call to cuInit: INTERNAL\\n")
            os.write(2, b"E0000 00:00:1796161599.338442   19851 some_kernel.cc:52] a real error\\n")
            print("a Python warning", file=sys.stderr)
        print("after", file=sys.stderr)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "E0000 00:00:1796161599.338442   19851 some_kernel.cc:52] a real error",
        "a Python warning",
        "after",
    ]


def test_importing_the_package_and_its_cli_sets_nothing():
    script = "import os, imagenet_pi, imagenet_pi.cli; print(sorted(os.environ) == ENV)"
    script = script.replace("ENV", repr(sorted(_clean_environment())))
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_environment(),
    )
    assert result.stdout.strip() == "True", result.stderr[-2000:]
