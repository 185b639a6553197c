"""The tasks' API tests use the API tests' app and sessions (tests/api/conftest.py)."""

from tests.api.conftest import api, api_with  # noqa: F401
