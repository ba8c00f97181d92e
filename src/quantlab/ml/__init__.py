"""Model runs: Qlib's ML alpha workflow as a job, its stored outputs and comparisons."""
