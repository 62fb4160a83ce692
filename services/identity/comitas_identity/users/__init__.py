"""Liaison officers' accounts."""
