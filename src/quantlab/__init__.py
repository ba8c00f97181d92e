"""quantlab: a self-hostable quant-research platform backend."""

__version__ = "0.1.0"
