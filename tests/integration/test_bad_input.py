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
    ({"dpg_balancer_proxies": ["nginx"]}, "dpg_balancer_proxies must name haproxy, traefik or both"),
    ({"dpg_balancer_proxies": ["haproxy", "traefik"], "traefik_primary_port": 5000},
     "on ports that do not collide (HAProxy [5000, 5001, 7000], Traefik [5000, 5501, 5502, 8080])"),
    ({"dpg_balancer_proxies": ["traefik"], "traefik_install_method": "docker"}, "traefik_install_method"),
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


def _certificate(tmp_path, sans):
    """A CA and a host certificate with the given SANs (openssl), for dpg_tls_host_cert."""
    def run(*args):
        subprocess.run(list(args), check=True, capture_output=True)
    names = ("ca.key", "ca.crt", "h.key", "h.csr", "h.crt", "ext.cnf")
    ca_key, ca, key, csr, crt, ext = (str(tmp_path / n) for n in names)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=test CA")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=host")
    (tmp_path / "ext.cnf").write_text("subjectAltName=" + ",".join(sans) + "\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
        "-days", "2", "-extfile", ext)
    return ca, crt, key


def test_ready_made_certificate_without_a_host_address_fails_naming_it(tmp_path):
    """A certificate that lacks one address the host is reached at stops preflight, naming that SAN."""
    ca, crt, key = _certificate(tmp_path, ["DNS:pg1", "DNS:localhost", "IP:127.0.0.1"])
    res = _preflight(_inventory(tmp_path, dpg_tls_ca_cert=ca, dpg_tls_host_cert=crt, dpg_tls_host_key=key))
    assert res.returncode != 0
    assert "lacks the subject alternative names" in res.stdout and "IP:192.0.2.1" in res.stdout, res.stdout[-3000:]
    assert "UNREACHABLE" not in res.stdout


def test_ready_made_certificate_with_every_name_passes(tmp_path):
    sans = ["DNS:pg1", "DNS:pg2", "DNS:pg3", "DNS:lb1", "DNS:localhost", "IP:127.0.0.1", "IP:192.0.2.1",
            "IP:192.0.2.2", "IP:192.0.2.3", "IP:192.0.2.9"]
    ca, crt, key = _certificate(tmp_path, sans)
    res = _preflight(_inventory(tmp_path, dpg_tls_ca_cert=ca, dpg_tls_host_cert=crt, dpg_tls_host_key=key))
    assert res.returncode == 0, res.stdout[-3000:]


def _with_backup(tmp_path, hosts=1, **overrides):
    path = tmp_path / "hosts.yml"
    inv = yaml.safe_load(open(_inventory(tmp_path, **overrides)))
    inv["all"]["children"]["backup"] = {"hosts": {"bk%d" % i: {"ansible_host": "192.0.2.%d" % (30 + i)}
                                                  for i in range(1, hosts + 1)}}
    path.write_text(yaml.safe_dump(inv))
    return str(path)


@pytest.mark.parametrize("hosts,passphrase", [(1, None), (1, "short-pass"), (2, STRONG * 2)])
def test_backup_group_needs_one_host_and_a_passphrase(tmp_path, hosts, passphrase):
    res = _preflight(_with_backup(tmp_path, hosts=hosts, dpg_backup_cipher_pass=passphrase))
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "pgBackRest needs exactly one repository host" in out and "dpg_backup_cipher_pass" in out, out[-3000:]
    assert "UNREACHABLE" not in out
    if passphrase:
        assert passphrase not in out  # the check is no_log: a rejected passphrase is not printed


def test_backup_group_with_a_passphrase_passes(tmp_path):
    res = _preflight(_with_backup(tmp_path, dpg_backup_cipher_pass=STRONG * 2))
    assert res.returncode == 0, res.stdout[-3000:]
