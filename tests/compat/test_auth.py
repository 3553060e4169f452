"""The pinned cvat-sdk / cvat-cli 2.80.0 against the running services: login, tokens, users."""

import logging
import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models
from cvat_sdk.core.auth import ClientAuthParameters, make_client_from_cli


def test_password_login_returns_admin_without_compatibility_warning(base_url, admin_credentials, caplog):
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with make_client(base_url, credentials=admin_credentials) as client:
            user = client.users.retrieve_current_user()
            assert user.username == admin_credentials[0]
            assert "admin" in user.groups
            assert client.check_server_version(fail_if_unsupported=True) is None
    assert not [r for r in caplog.records if "version" in r.getMessage().lower()]


def test_access_token_credentials(base_url, new_user):
    with make_client(base_url, credentials=new_user) as client:
        token, _ = client.api_client.auth_api.create_access_tokens(
            models.AccessTokenWriteRequest(name="sdk-token")
        )
        value = token.value
    with make_client(base_url, access_token=value) as client:
        assert client.users.retrieve_current_user().username == new_user[0]
        current, _ = client.api_client.auth_api.retrieve_access_tokens_self()
        assert current.name == "sdk-token"


def test_cvat_access_token_environment_variable(base_url, new_user, monkeypatch):
    with make_client(base_url, credentials=new_user) as client:
        token, _ = client.api_client.auth_api.create_access_tokens(models.AccessTokenWriteRequest(name="env"))
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", token.value)
    params = ClientAuthParameters(server_host=base_url)
    with make_client_from_cli(params) as client:
        assert client.users.retrieve_current_user().username == new_user[0]


def test_cli_profile_create_reads_token_name(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        token, _ = client.api_client.auth_api.create_access_tokens(models.AccessTokenWriteRequest(name="cli-profile"))
    config_home = tmp_path / "config"
    config_home.mkdir(mode=0o700)
    env = dict(os.environ, XDG_CONFIG_HOME=str(config_home), HOME=str(tmp_path))
    env.pop("CVAT_ACCESS_TOKEN", None)
    cli = Path(sys.executable).with_name("cvat-cli")
    result = subprocess.run(
        [str(cli), "--server-host", base_url, "profile", "create", token.value],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Saved profile 'cli-profile'" in result.stdout


def test_register_second_user_and_logout(base_url, admin_credentials):
    username = "reg" + uuid.uuid4().hex[:8]
    with make_client(base_url) as anonymous:
        registered, response = anonymous.api_client.auth_api.create_register(
            models.RegisterSerializerExRequest(
                username=username, password1="Second-user-88", password2="Second-user-88",
                email=f"{username}@example.com",
            )
        )
        assert response.status == 201
        assert registered.username == username
    with make_client(base_url, credentials=(username, "Second-user-88")) as client:
        me = client.users.retrieve_current_user()
        assert me.username == username and me.groups == ["user"]
        # A plain user sees only themself.
        assert [u.username for u in client.users.list()] == [username]
        client.logout()
        with pytest.raises(exceptions.UnauthorizedException):
            client.users.retrieve_current_user()
    with make_client(base_url, credentials=admin_credentials) as admin:
        assert username in {u.username for u in admin.users.list()}
        found = admin.users.retrieve(me.id)
        assert found.username == username


def test_wrong_password_is_rejected(base_url):
    with make_client(base_url) as client:
        with pytest.raises(exceptions.ApiException) as error:
            client.login(("admin", "not-the-password"))
        assert error.value.status == 400
        assert "Unable to log in" in error.value.body


def test_user_update_and_bad_input(base_url, new_user):
    with make_client(base_url, credentials=new_user) as client:
        me = client.users.retrieve_current_user()
        updated, _ = client.api_client.users_api.partial_update(
            me.id, patched_user_request=models.PatchedUserRequest(first_name="Compat")
        )
        assert updated.first_name == "Compat"
        with pytest.raises(exceptions.ApiException) as error:
            client.api_client.users_api.partial_update(
                me.id, patched_user_request=models.PatchedUserRequest(is_superuser=True)
            )
        assert error.value.status == 400
        with pytest.raises(exceptions.NotFoundException):
            client.api_client.users_api.retrieve(10**9)
        with pytest.raises(exceptions.ApiException) as error:
            client.api_client.users_api.list(page_size=0)
        assert error.value.status == 400


def test_server_endpoints(base_url, admin_credentials):
    with make_client(base_url, credentials=admin_credentials) as client:
        about, _ = client.api_client.server_api.retrieve_about()
        assert about.version == "2.80.0"
        formats, _ = client.api_client.server_api.retrieve_annotation_formats()
        assert any(f.name == "CVAT for images 1.1" and f.enabled for f in formats.exporters)
        assert any(f.name == "CVAT 1.1" for f in formats.importers)
        plugins, _ = client.api_client.server_api.retrieve_plugins()
        assert plugins.models is False
        tokens, _ = client.api_client.auth_api.list_access_tokens()
        assert tokens.count >= 0


def test_organization_context_header(base_url, admin_credentials):
    with make_client(base_url, credentials=admin_credentials) as client:
        client.organization_slug = ""  # the personal workspace, explicitly
        assert any(u.username == admin_credentials[0] for u in client.users.list())
        client.organization_slug = "no-such-org"
        with pytest.raises(exceptions.NotFoundException) as error:
            client.users.list()
        assert "organization does not exist" in error.value.body


def test_schema_through_the_generated_client(base_url, admin_credentials):
    with make_client(base_url, credentials=admin_credentials) as client:
        schema, _ = client.api_client.schema_api.retrieve(scheme="json")
        assert schema["openapi"].startswith("3.")
        assert "/api/users/self" in schema["paths"]
