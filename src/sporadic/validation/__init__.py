"""The real kernel as the simulator's judge: a description runs on seL4 MCS under qemu and in the
simulator, and the two timelines are compared (``sporadic validate``, docs/validation.md).

``scenario`` turns a description into the root task's table, ``sel4`` builds and boots it,
``timeline`` reads both sides into intervals, ``compare`` finds the first divergence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sporadic.description import System
from sporadic.validation import sel4
from sporadic.validation.compare import Comparison, compare
from sporadic.validation.scenario import scenario
from sporadic.validation.timeline import Timeline, parse_real, simulate


@dataclass
class Validation:
    real: Timeline
    simulated: Timeline
    comparison: Comparison


def real_timeline(system: System, sel4_src: str | os.PathLike[str] | None = None) -> Timeline:
    """Build, boot and read the real kernel's run of ``system``."""
    scn = scenario(system)
    image = sel4.build(scn.header, sel4.sources(sel4_src))
    return parse_real(sel4.boot(image), scn)


def validate(system: System, sel4_src: str | os.PathLike[str] | None = None) -> Validation:
    """``system`` on the real kernel and in the simulator, compared."""
    real = real_timeline(system, sel4_src)
    sim = simulate(system, real.setup)
    return Validation(real, sim, compare(real, sim))


__all__ = ["Validation", "real_timeline", "validate"]
