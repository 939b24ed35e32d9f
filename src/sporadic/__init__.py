"""sporadic: an seL4 MCS kernel simulator."""
