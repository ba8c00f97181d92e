"""HTTP composition: the app factory and router wiring."""
