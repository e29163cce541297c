"""HR's backfill of a gate's paper log after an outage: typed in or imported, deduplicated."""
