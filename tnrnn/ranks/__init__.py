"""Ranks: the rank routes and their registry, rank results, the router, and the rank at every cut."""
