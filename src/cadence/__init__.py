"""Cadence: recurring orders for local food shops, producers and food hubs."""
