"""Runs the pinned cvat-cli the way a user would."""

import json
import os
import subprocess
import sys
from pathlib import Path


def run(base_url, credentials, *args, timeout=180):
    """`cvat-cli ARGS...` as `credentials`; fails the test when the CLI does."""
    cli = Path(sys.executable).with_name("cvat-cli")
    result = subprocess.run(
        [str(cli), "--server-host", base_url, "--auth", f"{credentials[0]}:{credentials[1]}", *args],
        capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    return result


def create_task(base_url, credentials, name, *resource_args):
    """`cvat-cli task create NAME ...` with one label; fails the test when the CLI does."""
    run(base_url, credentials, "task", "create", name, *resource_args, "--labels", json.dumps([{"name": "car"}]),
        "--completion_verification_period", "0.2", timeout=120)
