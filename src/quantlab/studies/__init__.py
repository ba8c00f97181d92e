"""Parameter-optimisation studies: searches over a strategy's parameters, run as jobs."""
