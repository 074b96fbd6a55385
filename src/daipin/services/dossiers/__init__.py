"""The dossiers feature."""
