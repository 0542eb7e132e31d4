"""What a command declares holds: those that say they do not load TensorFlow do not.

`main` holds back TensorFlow's start-up lines only for commands that declare they load it;
a command that loaded it without saying so would print those lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from relabel_inputs import write_predictions

from imagenet_pi import cli, fake_data, internals


def test_commands_that_declare_no_tensorflow_run_without_loading_it(tmp_path):
    manual_dir = tmp_path / "manual"
    sample = fake_data.write_sample(
        str(manual_dir), num_synsets=2, images_per_synset=2, num_validation=3
    )
    write_predictions(str(tmp_path / "predictions"), sample)
    runs = {
        "fake-data": ["fake-data", "--out", str(tmp_path / "fake"), "--synsets", "2"],
        "verify": ["verify", "--manual_dir", str(manual_dir)],  # not the official sha256: 1
        "relabel": [
            *("relabel", "--predictions", str(tmp_path / "predictions"), "--beta", "0.5"),
            *("--seed", "0", "--out", str(tmp_path / "relabelled"), "--no-progress"),
        ],
        "stats": ["stats", "--annotations", str(manual_dir / "imagenet_pi" / "high_noise")],
    }
    parser = cli.build_parser()
    declared = {
        name: command.uses_tensorflow(parser.parse_args(runs[command.name]))
        for command in cli.COMMANDS
        if (name := command.name) in runs
    }
    assert declared == dict.fromkeys(runs, False)
    script = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        from imagenet_pi import cli

        loaded = {{}}
        for name, argv in {runs!r}.items():
            with contextlib.redirect_stdout(io.StringIO()):
                code = cli.main(argv)
            loaded[name] = (code, "tensorflow" in sys.modules)
        print(json.dumps(loaded))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {
        "fake-data": [0, False],
        "verify": [1, False],
        "relabel": [0, False],
        "stats": [0, False],
    }


@pytest.mark.parametrize("command", cli.COMMANDS, ids=lambda command: command.name)
def test_the_help_of_each_command_says_what_it_does(command):
    """`imagenet-pi <name> --help` opens with its description, or else its line of the list."""
    text = internals.subcommand_parsers(cli.build_parser())[command.name].format_help()
    expected = " ".join((command.description or command.help).split())
    assert expected in " ".join(text.split()), text


def test_the_help_of_imagenet_pi_names_pytorch():
    assert "PyTorch" in cli.build_parser().format_help()
