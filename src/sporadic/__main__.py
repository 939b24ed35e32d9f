"""``python -m sporadic`` is the ``sporadic`` command."""

import sys

from sporadic.cli import main

sys.exit(main())
