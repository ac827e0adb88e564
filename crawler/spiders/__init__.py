"""Spiders of the scrubwatch project."""
