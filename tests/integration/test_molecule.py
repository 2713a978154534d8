"""Run each molecule scenario: its test sequence (destroy, syntax, create, converge, idempotence, verify, destroy),
one molecule command per step so that each step's time goes into make test's timing table.

Needs a Docker engine and the lab node image (`make image`); skips, saying which is missing,
otherwise. The Citus scenario needs DPG_CITUS_IMAGE.
"""

import os
import re
import subprocess
import time

import pytest
import yaml

from tests.support import BIN, ROOT, TIMINGS, docker_problem, why


def _test_sequence(scenario):
    """The steps `molecule test -s scenario` runs (list of str): the scenario's test_sequence, else the shared one
    in .config/molecule/config.yml."""
    for path in (os.path.join(ROOT, "molecule", scenario, "molecule.yml"),
                 os.path.join(ROOT, ".config", "molecule", "config.yml")):
        with open(path, encoding="utf-8") as f:
            sequence = ((yaml.safe_load(f) or {}).get("scenario") or {}).get("test_sequence")
        if sequence:
            return sequence
    raise AssertionError("no test_sequence for molecule scenario %s" % scenario)


def _steps(scenario, env):
    """Run the scenario's test sequence one molecule command per step, timing each.

    Returns (steps, out): steps a list of (step, seconds, rc) up to the first failing step, then the final destroy
    whatever happened; out every step's output. A step runs as `molecule <step> -s <scenario>`, as one does by hand.
    """
    sequence = _test_sequence(scenario)
    steps, outputs = [], []
    try:
        for step in sequence[:-1] if sequence[-1] == "destroy" else sequence:
            started = time.time()
            res = subprocess.run([os.path.join(BIN, "molecule"), step, "-s", scenario], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=2400, check=False)
            steps.append((step, time.time() - started, res.returncode))
            outputs.append("== molecule %s -s %s (rc %d)\n%s%s" % (step, scenario, res.returncode, res.stdout,
                                                                   res.stderr))
            if res.returncode != 0:
                break
    finally:
        started = time.time()
        res = subprocess.run([os.path.join(BIN, "molecule"), "destroy", "-s", scenario], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600, check=False)
        steps.append(("destroy", time.time() - started, res.returncode))
        outputs.append("== molecule destroy -s %s (rc %d)\n%s%s" % (scenario, res.returncode, res.stdout, res.stderr))
    return steps, "\n".join(outputs)


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
    steps, out = _steps(scenario, env)
    for step, seconds, rc in steps:
        TIMINGS.append(("molecule %s" % scenario, step, seconds))
    shown = ["%s %.0f s%s" % (step, seconds, "" if rc == 0 else " (rc %d)" % rc) for step, seconds, rc in steps]
    print("\nMOLECULE %s: %s" % (scenario, ", ".join(shown)))
    report = tmp_path / "report.txt"
    if report.exists():
        print("\n" + report.read_text())
    failed = [step for step, dummy, rc in steps if rc != 0]
    if failed:
        pytest.fail("molecule %s -s %s failed:\n%s" % (failed[0], scenario, why(out, tail=8000)))
    ran = [step for step, dummy, dummy2 in steps]
    assert all(step in ran for step in _test_sequence(scenario)), (ran, _test_sequence(scenario))
    # molecule's verify succeeds also when it found no test: read pytest's own summary
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
