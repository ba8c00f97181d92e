"""Cross-cutting platform pieces: settings, database, errors, envelope, logging, audit."""
