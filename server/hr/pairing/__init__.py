"""Pairing flags: forgotten exits, second entries and forgotten entries, for HR to settle."""
