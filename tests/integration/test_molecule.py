"""Run each molecule scenario: create, converge, idempotence, verify, destroy.

Needs a Docker engine and the lab node image (`make image`); skips, saying which is missing,
otherwise. The Citus scenario needs DPG_CITUS_IMAGE.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
NODE_IMAGE = os.environ.get("DPG_NODE_IMAGE", "dpg-node:trixie")
sys.path.insert(0, os.path.join(ROOT, "molecule", "resources"))
from adhoc import why  # noqa: E402  pylint: disable=wrong-import-position


def _docker_problem():
    if not shutil.which("docker"):
        return "no docker client on PATH"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "no Docker engine answers (run lab/ensure-docker.sh)"
    if subprocess.run(["docker", "image", "inspect", NODE_IMAGE], capture_output=True, check=False).returncode != 0:
        return "node image %s is missing (run make image)" % NODE_IMAGE
    return None


def _test_sequence(scenario):
    """Steps molecule runs for `scenario`: its own test_sequence, or molecule's default (which has idempotence)."""
    with open(os.path.join(ROOT, "molecule", scenario, "molecule.yml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    return (config.get("scenario") or {}).get("test_sequence") or ["converge", "idempotence", "verify"]


@pytest.mark.parametrize("scenario", ["etcd", "ha", "backup_monitoring", "citus", "citus_standalone"])
def test_molecule_scenario(scenario, tmp_path):
    if scenario.startswith("citus") and not os.environ.get("DPG_CITUS_IMAGE"):
        pytest.skip("DPG_CITUS_IMAGE is not set: no image carrying Citus (Citus is in no registry reachable here)")
    problem = _docker_problem()
    if problem:
        pytest.skip(problem)
    # molecule runs ansible-playbook from PATH: the tools next to this Python come first
    env = dict(os.environ, PY_COLORS="0", ANSIBLE_FORCE_COLOR="0", NO_COLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               DPG_REPORT_FILE=str(tmp_path / "report.txt"))
    res = subprocess.run([os.path.join(BIN, "molecule"), "test", "-s", scenario], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=2400, check=False)
    out = res.stdout + res.stderr
    report = tmp_path / "report.txt"
    if report.exists():
        print("\n" + report.read_text())
    if res.returncode != 0:
        pytest.fail("molecule test -s %s exited %d:\n%s" % (scenario, res.returncode, why(out, tail=8000)))
    # a scenario whose verify re-runs site.yml itself (backup_monitoring) leaves molecule's idempotence step out
    for step in ("converge", "idempotence", "verify"):
        if step in _test_sequence(scenario):
            assert re.search(r"%s\W+Executed: Successful" % step, out), "step %s did not run" % step
