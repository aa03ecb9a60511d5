"""`python -m bot.cli`: the `gridline` command."""

import sys

from bot.cli import main

sys.exit(main())
