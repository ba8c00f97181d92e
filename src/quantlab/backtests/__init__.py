"""Backtests: the run request schema, the ``backtests.run`` job, stored results and exports."""
