"""Schedulability analysis: response-time analysis of fixed-priority task sets (``rta``) and
its verdicts for the partitions of a description (``check``), classic and bounded by budgets."""
