"""Downloader middlewares of the scrubwatch crawler."""
