"""ha scenario: no secret in what the operators' playbooks print, even at -vvv.

At -vvv Ansible prints every task's module arguments (but those its modules declare no_log), the
command lines it runs on the hosts (environments included) and every result. Each playbook below runs
once, in this order, as an operator runs it (the scenario's inventory, through adhoc.playbook) with -vvv;
the test asserts that it succeeded and that none of the scenario's secrets appears in its stdout or
stderr. The secrets are every file in DPG_LAB_DIR/secrets (the superuser's, replication, pg_rewind,
REST API, application and read-only passwords), plus the REST API's HTTP basic credentials as sent.

- playbooks/ops/health_check.yml (-e health_check_fail=false: the table is printed whatever the state
  of the cluster; this test is about what it prints)
- playbooks/ops/switchover.yml -e switchover_probe=true: the write probe on a replica host, 10 s
- playbooks/ops/benchmark.yml: pgbench at scale 1, 2 clients, 2 s per run, a 4 s load test with 4 clients
- playbooks/ops/benchmark_vector.yml: 500 vectors of 8 dimensions, 1 s per setting
- playbooks/ops/drill.yml -e drill=dcs_quorum_loss: the cheapest drill (no failover), 10 s, with the
  probe on this machine through the published ports
- playbooks/tuning.yml --check with a small profile (changes nothing)

Runs after test_modules.py (the healed cluster) and before test_security.py (which rotates the
secrets). A failure names the secret file and shows the lines with the secret masked, never the secret.
"""

import base64
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
from adhoc import playbook  # noqa: E402  pylint: disable=wrong-import-position
from drill import report  # noqa: E402  pylint: disable=wrong-import-position

LAB_DIR = os.environ["DPG_LAB_DIR"]
RW_PORT = os.environ.get("DPG_RW_PORT", "15000")
RO_PORT = os.environ.get("DPG_RO_PORT", "15001")
# The files lab/secrets.yml makes (the test reads every file there, these at least).
LAB_SECRETS = {"superuser", "replication", "rewind", "restapi", "app", "readonly"}
SMALL_TUNING = ['-e', 'dpg_tune_profile=web', '-e',
                '{"dpg_tune_overrides": {"shared_buffers": "128MB", "effective_cache_size": "512MB", '
                '"maintenance_work_mem": "64MB", "max_connections": "100"}}']

# (playbook, extra arguments ({report_dir} is a fresh directory), check mode, a line its report prints)
RUNS = [
    ("playbooks/ops/health_check.yml", ["-e", "health_check_fail=false"], False, "health: "),
    ("playbooks/ops/switchover.yml", ["-e", "switchover_probe=true", "-e", "switchover_probe_seconds=10"], False,
     "longest write pause"),
    ("playbooks/ops/benchmark.yml",
     ["-e", "benchmark_seconds=2", "-e", "benchmark_scale=1", "-e", "benchmark_clients=2", "-e", "benchmark_load_clients=4",
      "-e", "benchmark_load_seconds=4", "-e", "benchmark_sample_seconds=2", "-e", "benchmark_report_dir={report_dir}"],
     False, "| read throughput |"),
    ("playbooks/ops/benchmark_vector.yml",
     ["-e", "benchmark_vector_count=500", "-e", "benchmark_vector_dimensions=8", "-e", "benchmark_vector_queries=5",
      "-e", "benchmark_vector_seconds=1", "-e", '{"benchmark_vector_ef_search": [10]}', "-e", "benchmark_vector_users=10",
      "-e", "benchmark_vector_clusters=5", "-e", "benchmark_report_dir={report_dir}"], False, "vector search latency p50"),
    ("playbooks/ops/drill.yml", ["-e", "drill=dcs_quorum_loss", "-e", "drill_confirm=dcs_quorum_loss",
                                 "-e", "drill_seconds=10", "-e", "drill_rw_host=127.0.0.1",
                                 "-e", "drill_rw_port=" + RW_PORT, "-e", "drill_ro_port=" + RO_PORT,
                                 "-e", "drill_report_dir={report_dir}"], False, "write outage"),
    ("playbooks/tuning.yml", SMALL_TUNING, True, "profile web"),
]


def _secrets():
    """{name: secret}: the first word of every file in DPG_LAB_DIR/secrets (ansible.builtin.password's
    files hold the password, optionally followed by a salt), and the REST API's basic credentials."""
    directory = os.path.join(LAB_DIR, "secrets")
    out = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path) as f:
                words = f.read().split()
            if words:
                out[name] = words[0]
    missing = LAB_SECRETS - set(out)
    assert not missing, "the scenario's secrets %s are not in %s" % (sorted(missing), directory)
    if "restapi" in out:
        out["restapi (HTTP basic credentials)"] = base64.b64encode(("patroni:" + out["restapi"]).encode()).decode()
    return out


def _mask(text, secrets):
    """``text`` with every secret replaced by <secret NAME>."""
    for name, secret in secrets.items():
        text = text.replace(secret, "<secret %s>" % name)
    return text


@pytest.mark.parametrize("path,extra,check,expect", RUNS, ids=[os.path.basename(r[0]) for r in RUNS])
def test_playbook_prints_no_secret_at_vvv(path, extra, check, expect, tmp_path):
    secrets = _secrets()
    args = [a.replace("{report_dir}", str(tmp_path)) for a in extra] + ["-vvv"]
    rc, changed, out = playbook(path, *args, check=check)
    leaked = {name: [_mask(line, secrets)[:300] for line in out.splitlines() if secret in line][:5]
              for name, secret in secrets.items() if secret in out}
    report("NO SECRETS %s -vvv: rc %d, %d changed, %d lines of output, %d secrets looked for, %d found"
           % (path, rc, changed, out.count("\n"), len(secrets), len(leaked)))
    assert not leaked, "secrets in the output of %s (masked): %s" % (path, leaked)
    assert rc == 0, "%s failed: %s" % (path, _mask(out, secrets)[-6000:])
    assert expect in out, "%s printed no %r: %s" % (path, expect, _mask(out, secrets)[-3000:])
