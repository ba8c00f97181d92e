"""Factor analysis: information coefficients, quantile groups and decay."""
