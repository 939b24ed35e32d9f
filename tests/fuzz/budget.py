"""How hard the fuzzers push: a size CI can afford by default, more under ``make fuzz``.

``SPORADIC_FUZZ_EXAMPLES`` sets hypothesis's ``max_examples`` for every fuzzer in this folder;
``make fuzz`` raises it so that the whole folder runs for at least ten minutes.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("SPORADIC_FUZZ_EXAMPLES", "40"))

# every fuzzer: no deadline (a slow example is not a failure, a hang is caught by the caller's
# own timeout), and no complaint that generating inputs is slow
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
