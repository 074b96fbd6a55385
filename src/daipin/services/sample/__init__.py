"""The sample feature."""
