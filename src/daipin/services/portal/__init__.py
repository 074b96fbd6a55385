"""The portal feature."""
