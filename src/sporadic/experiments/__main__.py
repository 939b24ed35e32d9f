"""``python -m sporadic.experiments generate|sweep ...`` (commands.py)."""

import sys

from sporadic.experiments.commands import main

sys.exit(main())
