"""Bad inventories stop in preflight, before any host is touched, naming the variable.

Every inventory here points at addresses nothing answers on (TEST-NET-1, 192.0.2.0/24 with
an SSH connection): a run that tried to reach a host would fail as UNREACHABLE, not with
the preflight message asserted below.
"""

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# ansible-playbook next to the Python running the tests: works without .venv/bin on PATH.
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
STRONG = "Zq8w1Lr5Tg2Yp7Ks"
GOOD_VARS = {
    "dpg_cluster_name": "prod-main",
    "dpg_postgresql_version": 17,
    "dpg_superuser_password": STRONG + "a",
    "dpg_replication_password": STRONG + "b",
    "dpg_rewind_password": STRONG + "d",
    "patroni_restapi_password": STRONG + "c",
}


def _inventory(tmp_path, etcd_hosts=3, **overrides):
    vars_ = dict(GOOD_VARS)
    for k, v in overrides.items():
        if v is None:
            vars_.pop(k, None)
        else:
            vars_[k] = v
    hosts = {"pg%d" % i: {"ansible_host": "192.0.2.%d" % i} for i in range(1, 4)}
    inv = {"all": {"vars": dict(vars_, ansible_connection="ssh", ansible_user="nobody"),
                   "children": {
                       "etcd": {"hosts": {"pg%d" % i: {} for i in range(1, etcd_hosts + 1)}},
                       "postgres": {"hosts": dict(hosts.items())},
                       "balancers": {"hosts": {"lb1": {"ansible_host": "192.0.2.9"}}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return str(path)


def _preflight(inventory):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, os.path.join(ROOT, "playbooks", "preflight.yml")],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_good_inventory_passes_preflight(tmp_path):
    res = _preflight(_inventory(tmp_path))
    assert res.returncode == 0, res.stdout[-3000:]
    assert "unreachable=0" in res.stdout


@pytest.mark.parametrize("overrides,needle", [
    ({"dpg_superuser_password": None}, "dpg_superuser_password is missing"),
    ({"dpg_replication_password": "short"}, "dpg_replication_password is missing, shorter than 12"),
    ({"patroni_restapi_password": "secure_password_123"}, "patroni_restapi_password is missing, shorter than 12 characters or a known weak value"),
    ({"dpg_postgresql_version": 12}, "dpg_postgresql_version must be one of 15, 16, 17, 18"),
    ({"dpg_cluster_name": "Prod Main!"}, "dpg_cluster_name must be set to lower-case"),
    ({"pgbouncer_pool_mode": "sometimes"}, "pgbouncer_pool_mode"),
    ({"patroni_postgresql_port": "not-a-port"}, "patroni_postgresql_port"),
    ({"haproxy_rto_profile": "ludicrous"}, "haproxy_rto_profile"),
    ({"dpg_rewind_password": None}, "dpg_rewind_password is missing"),
    ({"patroni_watchdog_mode": "sometimes"}, "patroni_watchdog_mode"),
])
def test_bad_variable_fails_before_touching_hosts(tmp_path, overrides, needle):
    res = _preflight(_inventory(tmp_path, **overrides))
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert needle in out, out[-3000:]
    assert "UNREACHABLE" not in out


def test_citus_inventory_without_coordinator_group_fails(tmp_path):
    path = _inventory(tmp_path, dpg_citus_enabled=True)
    res = _preflight(path)
    assert res.returncode != 0
    assert "every postgres host needs citus_group" in res.stdout
    assert "UNREACHABLE" not in res.stdout


def test_citus_group_must_be_an_integer(tmp_path):
    path = tmp_path / "hosts.yml"
    inv = yaml.safe_load(open(_inventory(tmp_path, dpg_citus_enabled=True)))
    for i, h in enumerate(sorted(inv["all"]["children"]["postgres"]["hosts"])):
        inv["all"]["children"]["postgres"]["hosts"][h]["citus_group"] = "zero" if i == 0 else i
    path.write_text(yaml.safe_dump(inv))
    res = _preflight(str(path))
    assert res.returncode != 0 and "citus_group, an integer" in res.stdout


def test_even_number_of_etcd_members_fails(tmp_path):
    res = _preflight(_inventory(tmp_path, etcd_hosts=2))
    assert res.returncode != 0
    assert "The etcd group has 2 hosts" in res.stdout
    assert "UNREACHABLE" not in res.stdout


def test_example_inventory_without_vault_fails_fast():
    res = _preflight(os.path.join(ROOT, "inventories", "example"))
    assert res.returncode != 0
    assert "dpg_superuser_password is missing" in res.stdout
    assert "UNREACHABLE" not in res.stdout


@pytest.mark.parametrize("inventory", ["example", "lab"])
def test_site_syntax_check(inventory):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    res = subprocess.run([ANSIBLE_PLAYBOOK, "--syntax-check", "-i", os.path.join(ROOT, "inventories", inventory),
                          os.path.join(ROOT, "site.yml")], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
