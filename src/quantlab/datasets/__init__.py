"""Datasets: imports of real market data, versions in Parquet, preprocessing, chart data."""
