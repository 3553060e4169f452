"""Organizations, memberships and invitations through the pinned cvat-sdk 2.80.0."""

import uuid

import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models


def test_organization_proxy_crud_and_context(base_url, new_user):
    slug = "c" + uuid.uuid4().hex[:10]
    with make_client(base_url, credentials=new_user) as client:
        org = client.organizations.create(models.OrganizationWriteRequest(slug=slug, name="Compat org"))
        assert org.slug == slug and org.owner.username == new_user[0]
        assert slug in {o.slug for o in client.organizations.list()}
        org.update(models.PatchedOrganizationWriteRequest(description="made by the SDK"))
        assert client.organizations.retrieve(org.id).description == "made by the SDK"

        client.organization_slug = slug
        members = client.api_client.memberships_api.list()[0]
        assert [(m.user.username, m.role) for m in members.results] == [(new_user[0], "owner")]
        client.organization_slug = None

        org.remove()
        with pytest.raises(exceptions.NotFoundException):
            client.organizations.retrieve(org.id)


def test_invitation_between_two_users(base_url, new_user, admin_credentials):
    slug = "i" + uuid.uuid4().hex[:10]
    invitee = "inv" + uuid.uuid4().hex[:8]
    with make_client(base_url) as anonymous:
        anonymous.api_client.auth_api.create_register(
            models.RegisterSerializerExRequest(
                username=invitee, password1="Invitee-pass-5", password2="Invitee-pass-5",
                email=f"{invitee}@example.com",
            )
        )
    with make_client(base_url, credentials=new_user) as owner:
        owner.organizations.create(models.OrganizationWriteRequest(slug=slug))
        invitation, _ = owner.api_client.invitations_api.create(
            models.InvitationWriteRequest(role="supervisor", email=f"{invitee}@example.com"), org=slug
        )
        # An existing user joins at once, as in CVAT by default.
        assert invitation.user.username == invitee and invitation.accepted is True
    with make_client(base_url, credentials=(invitee, "Invitee-pass-5")) as client:
        received = client.api_client.invitations_api.list()[0]
        assert [i.key for i in received.results] == [invitation.key]
        try:
            client.api_client.invitations_api.accept(invitation.key)
            raise AssertionError("an accepted invitation was accepted again")
        except exceptions.ApiException as error:
            assert error.status == 400
        client.organization_slug = slug
        roles = {m.user.username: m.role for m in client.api_client.memberships_api.list()[0].results}
        assert roles == {new_user[0]: "owner", invitee: "supervisor"}
        assert {u.username for u in client.users.list()} == {new_user[0], invitee}
