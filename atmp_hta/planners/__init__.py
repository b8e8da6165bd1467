"""Study planners: simulation-based design tools built on the model kernels."""

__all__ = []
