"""Exact arithmetic mod p: prime checks, BLAS-speed elimination and exact matrix products."""
