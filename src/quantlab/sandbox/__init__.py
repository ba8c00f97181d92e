"""Code sandbox domain: run untrusted user Python with OS-level isolation."""
