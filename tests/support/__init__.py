"""What the integration tests share: the checkout's paths, Docker look-ups, and failure messages."""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
NODE_IMAGE = os.environ.get("DPG_NODE_IMAGE", "dpg-node:trixie")
# (scenario, step, seconds) of every converge, idempotence, verify and the like this session ran; printed as
# make test's timing table (tests/conftest.py, pytest_terminal_summary)
TIMINGS = []

sys.path.insert(0, os.path.join(ROOT, "molecule", "resources"))
from adhoc import why  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


def inventory_hosts(inventory):
    """{host: vars} of every host of a YAML inventory (dict as loaded), its vars merged over every group that lists it."""
    out = {}

    def walk(group):
        for name, hv in ((group or {}).get("hosts") or {}).items():
            out.setdefault(name, {}).update(hv or {})
        for child in ((group or {}).get("children") or {}).values():
            walk(child)
    walk(inventory["all"])
    return out


def docker(*args, timeout=120):
    """``docker ARGS`` (str each); the CompletedProcess, output captured as text, never raising on an exit code.

    :param timeout: seconds before subprocess.TimeoutExpired.
    """
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout, check=False)


def docker_problem(image=NODE_IMAGE):
    """Why the Docker-based tests cannot run here (str), or None: client, engine and ``image`` (str)."""
    if not shutil.which("docker"):
        return "no docker client on PATH"
    if docker("info").returncode != 0:
        return "no Docker engine answers (run lab/ensure-docker.sh)"
    if docker("image", "inspect", image).returncode != 0:
        return "image %s is missing (run make image)" % image
    return None
