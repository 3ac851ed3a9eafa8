"""ecomlake: deterministic synthetic e-commerce data lakes, rendered per day on Ray."""

__version__ = "0.1.0"
