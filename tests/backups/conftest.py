from tests.api.conftest import api, api_with  # noqa: F401
