"""What the integration tests share: the checkout's paths, Docker look-ups, and failure messages."""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
NODE_IMAGE = os.environ.get("DPG_NODE_IMAGE", "dpg-node:trixie")

sys.path.insert(0, os.path.join(ROOT, "molecule", "resources"))
from adhoc import why  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


def docker(*args):
    """``docker ARGS`` (str each); the CompletedProcess, output captured as text, never raising."""
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=False)


def docker_problem():
    """Why the Docker-based tests cannot run here (str), or None: client, engine and node image."""
    if not shutil.which("docker"):
        return "no docker client on PATH"
    if docker("info").returncode != 0:
        return "no Docker engine answers (run lab/ensure-docker.sh)"
    if docker("image", "inspect", NODE_IMAGE).returncode != 0:
        return "node image %s is missing (run make image)" % NODE_IMAGE
    return None
