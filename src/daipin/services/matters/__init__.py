"""The matters feature."""
