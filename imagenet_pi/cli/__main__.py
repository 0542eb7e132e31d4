"""`python -m imagenet_pi.cli`: the `imagenet-pi` command."""

import sys

from imagenet_pi.cli import main

if __name__ == "__main__":
    sys.exit(main())
