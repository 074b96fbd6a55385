"""The JSON API under /api/v1 and the app factory that also mounts the pages."""

from daipin.api.app import create_app

__all__ = ["create_app"]
