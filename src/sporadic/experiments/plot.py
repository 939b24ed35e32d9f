"""Acceptance ratios of a sweep, as a table and as the usual plot of schedulability studies.

The acceptance ratio at a (task count, utilisation) point is the fraction of its sets that a
test accepts: the response-time analysis (``rta_schedulable``), and the simulation (no deadline
missed in the simulated run, an optimistic test: a run shows one scenario, the analysis bounds
them all). With synchronous releases and every job at its WCET the two should meet wherever the
analysis is exact; the simulation's curve can only lie above the analysis' one.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["acceptance", "plot_acceptance"]


def acceptance(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (tasks, utilisation): sets, the two acceptance ratios and the violations."""
    points: dict[tuple[int, float], list[dict[str, Any]]] = {}
    for r in rows:
        points.setdefault((r["tasks"], r["utilisation"]), []).append(r)
    out = []
    for (n, u), group in sorted(points.items()):
        sets = len(group)
        out.append(
            {
                "tasks": n,
                "utilisation": u,
                "sets": sets,
                "analysis": sum(bool(r["rta_schedulable"]) for r in group) / sets,
                "simulation": sum(r["sim_misses"] == 0 for r in group) / sets,
                "violations": sum(bool(r["violation"]) for r in group),
            }
        )
    return out


def plot_acceptance(
    rows: list[dict[str, Any]], path: str | os.PathLike[str], title: str = ""
) -> None:
    """Acceptance ratio against utilisation, one colour per task count: the analysis solid,
    the simulation dashed. A PNG, drawn with matplotlib's Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = acceptance(rows)
    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    counts = sorted({p["tasks"] for p in table})
    colours = [f"C{i % 10}" for i in range(len(counts))]
    for n, colour in zip(counts, colours, strict=True):
        points = [p for p in table if p["tasks"] == n]
        xs = [p["utilisation"] for p in points]
        ax.plot(xs, [p["analysis"] for p in points], "-o", color=colour, ms=4, label=f"n={n} RTA")
        ax.plot(
            xs,
            [p["simulation"] for p in points],
            "--s",
            color=colour,
            lw=1,
            ms=8,
            mfc="none",
            label=f"n={n} simulated",
        )
    ax.set_xlabel("total utilisation")
    ax.set_ylabel("acceptance ratio")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=100)
