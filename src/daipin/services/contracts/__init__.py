"""The contracts feature."""
