"""The payments feature."""
