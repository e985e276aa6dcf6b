"""Fixtures of the serving tests (they live in serve_helpers.py, a module
name no other test folder uses)."""

from serve_helpers import photos, served, triton_ready  # noqa: F401  (fixtures)
