"""Runs the pinned cvat-cli the way a user would."""

import json
import os
import subprocess
import sys
from pathlib import Path


def create_task(base_url, credentials, name, *resource_args):
    """`cvat-cli task create NAME ...` with one label; fails the test when the CLI does."""
    cli = Path(sys.executable).with_name("cvat-cli")
    result = subprocess.run(
        [str(cli), "--server-host", base_url, "--auth", f"{credentials[0]}:{credentials[1]}", "task", "create",
         name, *resource_args, "--labels", json.dumps([{"name": "car"}]), "--completion_verification_period", "0.2"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
