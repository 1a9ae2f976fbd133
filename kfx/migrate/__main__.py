"""``python -m kfx.migrate PATH... [--fix] [--diff]``: ``kfx migrate`` on its own."""

import sys

from kfx.migrate.cli import main

sys.exit(main())
