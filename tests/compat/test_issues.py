"""Issues and comments through the pinned cvat-sdk 2.80.0: raising, commenting,
resolving, the legacy lists, and who may do what."""

import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models
from test_annotations import make_task


def test_issue_life_cycle(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path, frames=3)
        (job,) = task.get_jobs()
        issue = client.issues.create(
            models.IssueWriteRequest(frame=1, position=[1.0, 2.0, 30.0, 40.0], job=job.id, message="the box is off")
        )
        assert (issue.frame, issue.job, issue.resolved, issue.owner.username) == (1, job.id, False, new_user[0])
        assert issue.position == [1.0, 2.0, 30.0, 40.0] and issue.comments.count == 1
        assert [i.id for i in job.get_issues()] == [issue.id]
        assert client.jobs.retrieve(job.id).issues.count == 1

        client.comments.create(models.CommentWriteRequest(issue=issue.id, message="fixed"))
        comments = issue.get_comments()
        assert sorted(c.message for c in comments) == ["fixed", "the box is off"]
        assert all(c.issue == issue.id and c.owner.username == new_user[0] for c in comments)
        comments[0].update(models.PatchedCommentWriteRequest(message="edited"))
        assert "edited" in [c.message for c in issue.get_comments()]

        issue.update(models.PatchedIssueWriteRequest(resolved=True))
        assert client.issues.retrieve(issue.id).resolved is True
        page, _ = client.api_client.issues_api.list(job_id=job.id, resolved=True)
        assert [i.id for i in page.results] == [issue.id]
        page, _ = client.api_client.issues_api.list(job_id=job.id, resolved=False)
        assert page.results == []

        legacy = requests.get(f"{base_url}/api/issues/{issue.id}/comments", auth=new_user, timeout=10).json()
        assert legacy["count"] == 2
        legacy = requests.get(f"{base_url}/api/jobs/{job.id}/issues", auth=new_user, timeout=10).json()
        assert [i["id"] for i in legacy["results"]] == [issue.id]

        issue.remove()
        assert job.get_issues() == []
        page, _ = client.api_client.comments_api.list(issue_id=issue.id)
        assert page.count == 0


def test_issue_input_is_checked(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path, frames=2)
        (job,) = task.get_jobs()
    url = f"{base_url}/api/issues"
    cases = [
        ({"frame": 0, "position": [1.0], "job": job.id, "message": "m"}, "position"),
        ({"frame": 9, "position": [1.0, 1.0], "job": job.id, "message": "m"}, "frame"),
        ({"frame": 0, "position": [1.0, 1.0], "job": 999999999, "message": "m"}, "job"),
        ({"frame": 0, "position": [1.0, 1.0], "job": job.id, "message": ""}, "message"),
        ({"position": [1.0, 1.0], "job": job.id, "message": "m"}, "frame"),
    ]
    for body, field in cases:
        response = requests.post(url, json=body, auth=new_user, timeout=10)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json(), response.text
    comment = requests.post(f"{base_url}/api/comments", json={"issue": 999999999, "message": "m"}, auth=new_user, timeout=10)
    assert comment.status_code == 400 and "issue" in comment.json()


def test_strangers_cannot_see_or_comment(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path, frames=2)
        (job,) = task.get_jobs()
        issue = client.issues.create(models.IssueWriteRequest(frame=0, position=[1.0, 1.0], job=job.id, message="m"))
    stranger = ("x" + new_user[0][1:], new_user[1])
    registered = requests.post(
        f"{base_url}/api/auth/register",
        json={"username": stranger[0], "password1": stranger[1], "password2": stranger[1]},
        timeout=10,
    )
    assert registered.status_code == 201
    with make_client(base_url, credentials=stranger) as client:
        for call in (
            lambda: client.issues.retrieve(issue.id),
            lambda: client.issues.create(models.IssueWriteRequest(frame=0, position=[1.0, 1.0], job=job.id, message="m")),
            lambda: client.comments.create(models.CommentWriteRequest(issue=issue.id, message="m")),
        ):
            try:
                call()
                raise AssertionError("a stranger was allowed")
            except exceptions.ForbiddenException:
                pass
        assert client.issues.list() == []
        assert client.api_client.comments_api.list()[0].count == 0
