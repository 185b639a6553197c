"""The API fixtures for the notification tests."""

from tests.api.conftest import api, api_with  # noqa: F401
