"""Pure computation on NumPy arrays: no web, database or auth imports here."""
