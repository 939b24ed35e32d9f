"""Schedulability experiments: random task sets as descriptions (``generate``, drawing from
``utilisations``), sweeps over many of them, each analysed and simulated (``sweep``, one set in
``crosscheck``), acceptance ratios and their plot (``plot``), and the ``generate`` and
``sweep`` commands (``commands``).

Above the analysis and the simulation: ``experiments`` imports ``analysis``, ``description``,
``simulation`` and the bottom layer (``records``, ``errors``, ``units``).
"""
