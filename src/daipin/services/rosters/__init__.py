"""The rosters feature."""
