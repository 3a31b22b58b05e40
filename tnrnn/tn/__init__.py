"""Tensor networks: a RAC compiled into a quimb network, contraction plans and network diagrams."""
