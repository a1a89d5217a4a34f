"""Placeholder: the reference server."""
