"""The registry feature."""
