"""The strategy library: system templates with computed examples, saved strategies with
versions, ratings, favourites and runs (each a backtest of the strategy's run spec)."""
