"""Backtest engine: simulation of strategies over panels, costs, market rules, metrics."""
