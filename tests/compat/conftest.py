"""Fixtures for the compatibility suite: the running test stack started by tests/run.sh."""

import os
import uuid

import pytest
import requests

BASE_URL = os.environ.get("CVAT_TEST_URL", "")
ADMIN = os.environ.get("CVAT_ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("CVAT_ADMIN_PASSWORD", "")


@pytest.fixture(scope="session")
def base_url():
    if not BASE_URL:
        pytest.fail("CVAT_TEST_URL is unset: run the suite with `make test`")
    return BASE_URL


@pytest.fixture(scope="session")
def admin_credentials():
    return (ADMIN, ADMIN_PASSWORD)


@pytest.fixture
def new_user(base_url):
    """Registers a fresh user through the REST API; returns (username, password)."""
    username = "u" + uuid.uuid4().hex[:10]
    password = "Compat-pass-31"
    response = requests.post(
        f"{base_url}/api/auth/register",
        json={"username": username, "password1": password, "password2": password},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return username, password
