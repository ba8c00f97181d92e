"""Factors and indicators: the indicator catalog API, users' factor library and evaluation."""
