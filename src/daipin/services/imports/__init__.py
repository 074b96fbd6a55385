"""The imports feature."""
