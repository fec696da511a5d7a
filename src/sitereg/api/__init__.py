"""HTTP layer: routes, auth, response shapes. Work is delegated to the package root."""

from sitereg.api.app import create_app

__all__ = ["create_app"]
