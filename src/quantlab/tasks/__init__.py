"""The tasks domain: the HTTP and WebSocket face of jobs, recurring schedules, ws tickets."""
