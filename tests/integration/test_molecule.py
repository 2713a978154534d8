"""Run each molecule scenario: create, converge, idempotence, verify, destroy.

Needs a Docker engine and the lab node image (`make image`); skips, saying which is missing,
otherwise. The Citus scenario needs DPG_CITUS_IMAGE.
"""

import os
import re
import subprocess

import pytest
import yaml

from tests.support import BIN, ROOT, docker_problem, why


def _test_sequence(scenario):
    """Steps molecule runs for `scenario`: its own test_sequence, or molecule's default (which has idempotence)."""
    with open(os.path.join(ROOT, "molecule", scenario, "molecule.yml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    return (config.get("scenario") or {}).get("test_sequence") or ["converge", "idempotence", "verify"]


# etcd alone is checked by the hosts scenario (tests/integration/test_hosts.py), on the cluster it converges.
@pytest.mark.parametrize("scenario", ["ha", "backup_monitoring", "citus", "citus_standalone"])
def test_molecule_scenario(scenario, tmp_path):
    if scenario.startswith("citus") and not os.environ.get("DPG_CITUS_IMAGE"):
        pytest.skip("DPG_CITUS_IMAGE is not set: no image carrying Citus (Citus is in no registry reachable here)")
    problem = docker_problem()
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
    # molecule says "Executed: Successful" also when verify found no test: read pytest's own summary
    passed, skipped = verify_summary(out)
    print("VERIFY %s: %d passed, %d skipped" % (scenario, passed, len(skipped)))
    for line in skipped:
        print("  " + line)
    assert passed > 0, "the verify step of %s ran no test:\n%s" % (scenario, out[-3000:])
    unexpected = [line for line in skipped if not any(reason in line for reason in ALLOWED_SKIPS)]
    assert not unexpected, "tests of %s skipped without a reason this machine cannot change: %s" % (scenario, unexpected)


# Skips a verify may have: things no registry reachable here has (the scenarios skip with these reasons).
ALLOWED_SKIPS = ("DPG_TRAEFIK_BINARY", "DPG_CITUS_IMAGE")


def verify_summary(out):
    """(passed, [SKIPPED lines]) of the pytest run in a molecule verify's output (str).

    Raises AssertionError when the output has no pytest summary line or reports a failure or an error.
    """
    summaries = re.findall(r"^=+ (.*?) in [0-9.]+s(?: \([0-9:]+\))? =+$", out, re.M)
    assert summaries, "no pytest summary in the verify output:\n" + out[-3000:]
    counts = dict((word, int(n))
                  for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", summaries[-1]))
    assert not counts.get("failed") and not counts.get("error") and not counts.get("errors"), summaries[-1]
    skipped = re.findall(r"^SKIPPED \[(\d+)\] (.*)$", out, re.M)
    # every skip must be listed with its reason (-r s in .config/molecule/config.yml), or none could be judged
    assert sum(int(n) for n, dummy in skipped) == counts.get("skipped", 0), (summaries[-1], skipped)
    return counts.get("passed", 0), [line for dummy, line in skipped]
