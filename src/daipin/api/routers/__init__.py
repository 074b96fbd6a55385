"""API routers, one per feature."""
