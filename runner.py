#!/usr/bin/env python3
"""webstack's command line (`python runner.py --help`); the code is the webstack package's
(webstack/cli.py), which `pip install .` also installs as the `webstack` command."""

import sys

from webstack.cli import main

if __name__ == "__main__":
    sys.exit(main())
