"""The architecture: the RAC spec and weights, partitions of the time steps, grid tensors and every closed-form bound."""
