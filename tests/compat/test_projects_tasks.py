"""Projects, tasks, jobs and labels through the pinned cvat-sdk / cvat-cli 2.80.0."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models


def label_specs():
    return [
        models.PatchedLabelRequest(
            name="car",
            color="#ff0000",
            attributes=[
                models.AttributeRequest(name="model", mutable=False, input_type="select", values=["a", "b"]),
                models.AttributeRequest(name="speed", mutable=True, input_type="number", values=["0", "200", "5"]),
            ],
        ),
        models.PatchedLabelRequest(
            name="person",
            type="skeleton",
            svg='<circle data-label-name="head"/>',
            sublabels=[models.SublabelRequest(name="head"), models.SublabelRequest(name="hand")],
        ),
    ]


def test_task_search_finds_a_term_in_any_search_field_ignoring_case(base_url, new_user):
    """`search` as CVAT's tasks list does it: every term (split at whitespace and commas)
    in one of the search fields, ignoring case, the project's name too, also after a
    rename."""
    uid = uuid.uuid4().hex[:10]
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(
            models.ProjectWriteRequest(name=f"Compat Ärger-Streets {uid}", labels=label_specs())
        )
        alpha = client.tasks.create(models.TaskWriteRequest(name=f"Alpha {uid}", project_id=project.id, subset="Validation"))
        beta = client.tasks.create(
            models.TaskWriteRequest(name=f"beta {uid}", labels=label_specs(), bug_tracker=f"https://tracker/{uid}-BUG")
        )
        api = client.api_client.tasks_api

        def found(search):
            page, _ = api.list(search=search, sort="id")
            return [t.id for t in page.results]

        assert found(uid.upper()) == [alpha.id, beta.id]
        assert found(f"ÄRGER-streets {uid}") == [alpha.id]
        assert found(f"validation,{uid}") == [alpha.id]
        assert found(f"{uid}-bug") == [beta.id]
        assert found(f"{new_user[0].upper()} {uid}") == [alpha.id, beta.id]
        assert found(f"{uid} no-such-thing") == []
        project.update(models.PatchedProjectWriteRequest(name=f"Renamed {uid}x"))
        assert found(f"{uid}X") == [alpha.id]
        assert found(f"ärger {uid}") == []


def test_project_with_labels_and_tasks(base_url, new_user):
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(models.ProjectWriteRequest(name="compat project", labels=label_specs()))
        assert project.owner.username == new_user[0] and project.tasks.count == 0
        labels = project.get_labels()
        assert [l.name for l in labels] == ["car", "person"]
        assert labels[0].attributes[0].default_value == "a"
        assert [s.name for s in labels[1].sublabels] == ["head", "hand"]
        assert "data-label-id" in labels[1].svg

        first = client.tasks.create(models.TaskWriteRequest(name="first", project_id=project.id, subset="train"))
        second = client.tasks.create(models.TaskWriteRequest(name="second", project_id=project.id, segment_size=10))
        assert first.project_id == project.id and first.jobs.count == 0
        assert [l.name for l in first.get_labels()] == ["car", "person"]
        assert sorted(t.name for t in project.get_tasks()) == ["first", "second"]
        assert first.get_jobs() == []
        project.fetch()
        assert project.tasks.count == 2 and project.task_subsets == ["train"]

        # Every list parameter the generated client sends.
        api = client.api_client.tasks_api
        page, _ = api.list(project_id=project.id, sort="-name", page_size=1)
        assert page.count == 2 and [t.name for t in page.results] == ["second"] and page.next
        page, _ = api.list(filter=json.dumps({"==": [{"var": "subset"}, "train"]}))
        assert [t.name for t in page.results] == ["first"]
        page, _ = api.list(search="seco", owner=new_user[0])
        assert [t.name for t in page.results] == ["second"]
        page, _ = api.list(name="first", project_name="compat project")
        assert [t.id for t in page.results] == [first.id]
        with pytest.raises(exceptions.ApiException) as error:
            api.list(sort="no_such_field")
        assert error.value.status == 400

        # Updates return the full read model; label changes go through the project.
        first.update(models.PatchedTaskWriteRequest(name="renamed", bug_tracker="https://tracker/1"))
        assert client.tasks.retrieve(first.id).name == "renamed"
        car = labels[0]
        project.update(
            models.PatchedProjectWriteRequest(
                labels=[
                    models.PatchedLabelRequest(id=car.id, name="vehicle", color="#00ff00"),
                    models.PatchedLabelRequest(id=labels[1].id, deleted=True),
                    models.PatchedLabelRequest(name="sign"),
                ]
            )
        )
        assert sorted(l.name for l in project.get_labels()) == ["sign", "vehicle"]
        label, _ = client.api_client.labels_api.partial_update(car.id, patched_label_request=models.PatchedLabelRequest(name="auto"))
        assert label.name == "auto" and label.project_id == project.id

        client.tasks.remove_by_ids([second.id])
        with pytest.raises(exceptions.NotFoundException):
            client.tasks.retrieve(second.id)
        project.remove()
        with pytest.raises(exceptions.NotFoundException):
            client.tasks.retrieve(first.id)


def test_standalone_task_moves_into_a_project(base_url, new_user):
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(models.ProjectWriteRequest(name="target", labels=label_specs()))
        task = client.tasks.create(
            models.TaskWriteRequest(name="loose", labels=[models.PatchedLabelRequest(name="car")])
        )
        assert task.project_id is None and [l.name for l in task.get_labels()] == ["car"]
        odd = client.tasks.create(models.TaskWriteRequest(name="odd", labels=[models.PatchedLabelRequest(name="tree")]))
        with pytest.raises(exceptions.ApiException) as error:
            odd.update(models.PatchedTaskWriteRequest(project_id=project.id))
        assert error.value.status == 400 and "tree" in error.value.body
        task.update(models.PatchedTaskWriteRequest(project_id=project.id))
        assert task.project_id == project.id
        assert [l.project_id for l in task.get_labels()] == [project.id, project.id]


def test_organization_context_switching(base_url, new_user):
    slug = "p" + uuid.uuid4().hex[:10]
    with make_client(base_url, credentials=new_user) as client:
        client.organizations.create(models.OrganizationWriteRequest(slug=slug))
        personal = client.projects.create(models.ProjectWriteRequest(name="personal"))
        client.organization_slug = slug
        shared = client.projects.create(models.ProjectWriteRequest(name="shared", labels=label_specs()))
        task = client.tasks.create(models.TaskWriteRequest(name="in org", project_id=shared.id))
        assert shared.organization is not None and task.organization == shared.organization
        assert [p.name for p in client.projects.list()] == ["shared"]
        # Sub-collections are listed with org_id of the parent, whatever the client's context.
        assert [t.name for t in shared.get_tasks()] == ["in org"]
        client.organization_slug = ""
        assert [p.name for p in client.projects.list()] == ["personal"]
        assert [l.name for l in task.get_labels()] == ["car", "person"]
        client.organization_slug = None
        assert sorted(p.name for p in client.projects.list()) == ["personal", "shared"]
        assert client.projects.retrieve(shared.id).name == "shared"
        personal.remove()


def test_cli_projects_and_tasks(base_url, new_user):
    cli = Path(sys.executable).with_name("cvat-cli")

    def run(*args):
        result = subprocess.run(
            [str(cli), "--server-host", base_url, "--auth", f"{new_user[0]}:{new_user[1]}", *args],
            capture_output=True, text=True, timeout=120, env=dict(os.environ),
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    labels = json.dumps([{"name": "car", "attributes": []}, {"name": "bus"}])
    created = run("project", "create", "cli project", "--labels", labels)
    project_id = int(created.strip().split()[-1])
    listed = run("project", "ls", "--json")
    assert [p["id"] for p in json.loads(listed)] == [project_id]
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create(models.TaskWriteRequest(name="cli task", project_id=project_id))
    assert [t["name"] for t in json.loads(run("task", "ls", "--json"))] == ["cli task"]
    run("task", "delete", str(task.id))
    assert json.loads(run("task", "ls", "--json")) == []
    run("project", "delete", str(project_id))
    assert json.loads(run("project", "ls", "--json")) == []


def test_field_errors_reach_the_client_in_cvat_shape(base_url, new_user):
    """What the client would refuse by itself, the server judges too: every field error
    comes back in CVAT's {"field": ["message"]} shape."""
    with make_client(base_url, credentials=new_user) as client:
        config = client.api_client.configuration
        config.disabled_client_side_validations = "maxLength,minLength"
        api = client.api_client.projects_api
        unchecked = {"_configuration": config, "_check_type": False}
        cases = [
            (models.ProjectWriteRequest(name="x" * 300, **unchecked), "name"),  # too long
            (models.ProjectWriteRequest(name="", **unchecked), "name"),  # blank
            (models.ProjectWriteRequest(name=42, **unchecked), "name"),  # wrong type
            (models.ProjectWriteRequest(name="ok", bug_tracker=["a"], **unchecked), "bug_tracker"),
        ]
        for request, field in cases:
            with pytest.raises(exceptions.ApiException) as error:
                api.create(request)
            body = json.loads(error.value.body)
            assert error.value.status == 400, body
            assert isinstance(body.get(field), list) and body[field], body
        page, _ = api.list()
        assert page.count == 0, "nothing was created"
