"""The hosts scenario: the collection as an operator runs it, over SSH as a sudo user.

Five machines from the SSH host image (`lab/image/sshnode`: sshd, python3, sudo, a `deploy` user that
logs in with a key; no root login, no `acl` package) on a network with `inventories/example`'s
addresses; the collection from the tarball that `make build` makes, installed with
`ansible-galaxy collection install` into the default collections path of a fresh home directory;
Ansible's default configuration (no ansible.cfg anywhere, no ANSIBLE_* variable); an inventory derived
from `inventories/example` (only how to reach each host changes), its secrets in a vault file
encrypted with `ansible-vault` and a password file, each secret holding every awkward printable
character. Then, in order (the `cluster` fixture is the converge; each test reads its results):

- the first converge, with pipelining off (Ansible's default), over SSH;
- a re-run with pipelining on: 0 changed;
- `--check --diff` on the converged cluster: no failure, 0 changed;
- the example's application user, through the balancer's published ports with verify-full against the
  cluster CA by the name the certificate carries (db.example.internal), writes and reads back;
- etcd, as the etcd role made it over SSH: every member healthy over TLS, one cluster of three, a key
  written on one member read on the others, a client without a certificate and plain http refused,
  peer and client URLs https, key files 0600 owned by their service;
- `ops/health_check.yml` and `ops/switchover.yml`, run from the installed collection over SSH;
- the repository's cipher passphrase changed in the vault: refused before anything is written.

The figures (wall times, changed counts) are printed in the test output. DPG_HOSTS_KEEP=1 leaves the
machines and the inventory in place at the end, for a look at what failed.
"""

import glob
import json
import os
import re
import secrets
import shutil
import subprocess
import time

import psycopg2
import pytest
import yaml

from tests.support import BIN, ROOT, TIMINGS, docker, docker_problem, inventory_hosts, why

SSHNODE_IMAGE = os.environ.get("DPG_SSHNODE_IMAGE", "dpg-sshnode:trixie")
NETWORK = "dpg-hosts"
# inventories/example's addresses (10.20.0.0/24): the network is made with them, so the inventory
# keeps them as the addresses the hosts use among themselves (dpg_address). The controller reaches
# each host only through ports published on 127.0.0.1.
SUBNET = "10.20.0.0/24"
SSH_PORT_BASE = 42200
RW_PORT, RO_PORT = 45000, 45001
# Every secret carries each of these (YAML's !unsafe keeps Ansible from reading {{ }} as a template).
AWKWARD = ": \\ ' \" # $ % ! {{ }} @ / ="
FIGURES = []


def _example():
    with open(os.path.join(ROOT, "inventories", "example", "hosts.yml"), encoding="utf-8") as f:
        hosts = yaml.safe_load(f)
    with open(os.path.join(ROOT, "inventories", "example", "group_vars", "all", "main.yml"), encoding="utf-8") as f:
        group_vars = yaml.safe_load(f)
    return hosts, group_vars


def _vault_value(value):
    """A YAML scalar for ``value`` that Ansible takes literally: !unsafe, single-quoted."""
    return "!unsafe '%s'" % value.replace("'", "''")


def _secret(label):
    return "%s-%s %s" % (label, secrets.token_urlsafe(9), AWKWARD)


class Scenario:
    """The scenario's files and how to run Ansible as the operator does (see the module docstring)."""

    def __init__(self, base):
        self.base = base
        self.home = os.path.join(base, "home")
        self.inv = os.path.join(base, "inventory")
        self.key = os.path.join(base, "id_ed25519")
        self.known_hosts = os.path.join(base, "known_hosts")
        self.vault_pass = os.path.join(base, "vault-password")
        self.keys_dir = os.path.join(base, "authorized_keys")
        self.secrets = {}
        self.hosts = {}
        self.containers = []

    def env(self, **extra):
        """Nothing of the project's: a fresh HOME, the venv's tools on PATH, no ANSIBLE_* but ``extra``."""
        env = {"HOME": self.home, "PATH": BIN + os.pathsep + "/usr/local/bin:/usr/bin:/bin",
               "LANG": "C.UTF-8", "NO_COLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
        env.update(extra)
        return env

    def run(self, argv, timeout=600, **extra_env):
        start = time.time()
        res = subprocess.run(argv, cwd=self.base, env=self.env(**extra_env), capture_output=True, text=True,
                             timeout=timeout, check=False)
        return res.returncode, res.stdout + res.stderr, time.time() - start

    def playbook(self, name, *args, timeout=2400, step=None, **extra_env):
        """ansible-playbook of the installed collection's playbook ``name``; (rc, changed, output, seconds).

        ``step`` (str) names the run in make test's timing table.
        """
        rc, out, seconds = self.run(["ansible-playbook", "-i", os.path.join(self.inv, "hosts.yml"),
                                     "--vault-password-file", self.vault_pass, name] + list(args),
                                    timeout=timeout, **extra_env)
        changed = sum(int(tok.split("=")[1]) for tok in out.split() if tok.startswith("changed="))
        if step:
            TIMINGS.append(("hosts (SSH)", step, seconds))
        return rc, changed, out, seconds

    def machines(self, state):
        """Create or remove the containers and network through the lab's tasks (tests/integration/hosts)."""
        extra = {"hosts_state": state, "hosts_containers": self.containers, "hosts_network": NETWORK,
                 "hosts_subnet": SUBNET, "hosts_image": SSHNODE_IMAGE}
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"), NO_COLOR="1")
        res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,",
                              os.path.join(ROOT, "tests", "integration", "hosts", "containers.yml"),
                              "-e", json.dumps(extra)], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=600, check=False)
        assert res.returncode == 0, why(res.stdout + res.stderr)

    def prepare(self):
        """Key, machines, tarball installed, inventory and vault derived from inventories/example."""
        os.makedirs(self.home, mode=0o700)
        os.makedirs(os.path.join(self.inv, "group_vars", "all"))
        os.makedirs(self.keys_dir, mode=0o755)
        os.chmod(self.base, 0o755)  # the containers' sshd reads the mounted key as the deploy user
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key], check=True)
        shutil.copy(self.key + ".pub", os.path.join(self.keys_dir, "deploy"))
        os.chmod(os.path.join(self.keys_dir, "deploy"), 0o644)

        example_hosts, example_vars = _example()
        self.hosts = inventory_hosts(example_hosts)
        for i, (name, hv) in enumerate(sorted(self.hosts.items())):
            ports = ["127.0.0.1:%d:22" % (SSH_PORT_BASE + i)]
            if name in (example_hosts["all"]["children"]["balancers"]["hosts"] or {}):
                ports += ["127.0.0.1:%d:5000" % RW_PORT, "127.0.0.1:%d:5001" % RO_PORT]
            self.containers.append({"name": "dpg-hosts-" + name, "hostname": name,
                                    "ipv4_address": hv["ansible_host"], "published_ports": ports,
                                    "volumes": ["%s:/etc/ssh/authorized_keys:ro" % self.keys_dir]})
            hv["ssh_port"] = SSH_PORT_BASE + i
        self.machines("present")

        # the tarball an operator downloads, into the default collections path of a new home
        res = subprocess.run(["make", "build"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as f:
            version = yaml.safe_load(f)["version"]
        tarball = os.path.join(ROOT, "build", "dpg-cluster-%s.tar.gz" % version)
        rc, out, dummy = self.run(["ansible-galaxy", "collection", "install", tarball])
        assert rc == 0, out
        installed = glob.glob(os.path.join(self.home, ".ansible", "collections", "ansible_collections", "dpg",
                                           "cluster", "MANIFEST.json"))
        assert installed, "the tarball did not install into ~/.ansible/collections:\n" + out

        # sshd answers on every published port; its host key goes into a known_hosts file
        lines = []
        for name, hv in sorted(self.hosts.items()):
            deadline = time.time() + 60
            while True:
                res = subprocess.run(["ssh-keyscan", "-p", str(hv["ssh_port"]), "-t", "ed25519", "127.0.0.1"],
                                     capture_output=True, text=True, timeout=20, check=False)
                if res.stdout.strip() or time.time() > deadline:
                    break
                time.sleep(1)
            assert res.stdout.strip(), "sshd of %s does not answer: %s" % (name, res.stderr)
            lines.append(res.stdout.strip())
        with open(self.known_hosts, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

        # the example inventory: each host keeps its address for the cluster (dpg_address) and is reached
        # through its published SSH port; everything else is the example's own
        inventory = example_hosts
        for group in inventory["all"]["children"].values():
            for name in (group.get("hosts") or {}):
                hv = group["hosts"][name]
                if hv and "ansible_host" in hv:
                    group["hosts"][name] = {"ansible_host": "127.0.0.1", "ansible_port": self.hosts[name]["ssh_port"],
                                            "dpg_address": hv["ansible_host"]}
        inventory["all"]["vars"].update({
            "ansible_ssh_private_key_file": self.key,
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s" % self.known_hosts})
        with open(os.path.join(self.inv, "hosts.yml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(inventory, f)
        shutil.copy(os.path.join(ROOT, "inventories", "example", "group_vars", "all", "main.yml"),
                    os.path.join(self.inv, "group_vars", "all", "main.yml"))
        # what a container cannot do: load softdog (Patroni's watchdog); overrides.yml is read after main.yml
        with open(os.path.join(self.inv, "group_vars", "all", "overrides.yml"), "w", encoding="utf-8") as f:
            f.write("---\n# Containers have no /dev/watchdog and cannot load softdog.\npatroni_watchdog_mode: \"off\"\n"
                    "# Containers here may open 20,000 files at most: HAProxy needs 2 per connection and more.\n"
                    "haproxy_maxconn: 2000\npgbouncer_max_client_conn: 2000\n")
        assert example_vars["patroni_watchdog_mode"] == "required"

        # every vault_* variable the example reads, each with every awkward character
        names = sorted(set(re.findall(r"vault_[a-z0-9_]+", json.dumps(example_vars))))
        assert "vault_dpg_backup_cipher_pass" in names and "vault_dpg_app_password" in names, names
        self.secrets = {n: _secret(n[len("vault_"):]) for n in names}
        with open(self.vault_pass, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(24) + "\n")
        os.chmod(self.vault_pass, 0o600)
        self.write_vault()

    def write_vault(self):
        path = os.path.join(self.inv, "group_vars", "all", "vault.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("---\n" + "".join("%s: %s\n" % (k, _vault_value(v)) for k, v in sorted(self.secrets.items())))
        rc, out, dummy = self.run(["ansible-vault", "encrypt", "--vault-password-file", self.vault_pass, path])
        assert rc == 0, out
        with open(path, encoding="utf-8") as f:
            assert f.readline().startswith("$ANSIBLE_VAULT;"), "vault.yml is not encrypted"

    def ssh(self, user, command):
        """``command`` over SSH as ``user`` on the first machine, with the scenario's key; (rc, output, seconds)."""
        return self.run(["ssh", "-i", self.key, "-p", str(SSH_PORT_BASE), "-o", "BatchMode=yes",
                         "-o", "UserKnownHostsFile=" + self.known_hosts, "%s@127.0.0.1" % user, command], timeout=30)

    def app_connect(self, port):
        """The example's application user through the balancer: verify-full by the certificate's DNS name."""
        return psycopg2.connect(host="db.example.internal", hostaddr="127.0.0.1", port=port, dbname="app",
                                user="app", password=self.secrets["vault_dpg_app_password"],
                                sslmode="verify-full", sslrootcert=os.path.join(self.inv, "pki", "ca.crt"),
                                connect_timeout=10)


def test_sshnode_image_is_minimal():
    """The hosts start without what the collection must bring itself: no acl (setfacl), no PostgreSQL."""
    reason = _precondition()
    if reason:
        pytest.skip(reason)
    res = docker("run", "--rm", "--entrypoint", "sh", SSHNODE_IMAGE, "-c",
                 "command -v setfacl; dpkg-query -W -f '${Status}' acl postgresql-common 2>&1; echo; id deploy")
    assert "setfacl" not in res.stdout and "install ok installed" not in res.stdout, res.stdout
    assert "uid=" in res.stdout, res.stdout


def _precondition():
    problem = docker_problem()
    if problem:
        return problem
    if docker("image", "inspect", SSHNODE_IMAGE).returncode != 0:
        return "SSH host image %s is missing (run make image)" % SSHNODE_IMAGE
    for tool in ("ssh", "ssh-keygen", "ssh-keyscan"):
        if not shutil.which(tool):
            return "%s is not installed (.ci/run installs openssh-client)" % tool
    if docker("network", "inspect", NETWORK).returncode == 0:
        return "network %s exists: a hosts scenario is running or was left (docker network rm %s)" % (NETWORK, NETWORK)
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The converged cluster: (Scenario, first converge's (rc, changed, output, seconds)). Removed at the end."""
    reason = _precondition()
    if reason:
        pytest.skip(reason)
    scenario = Scenario(str(tmp_path_factory.mktemp("hosts")))
    try:
        started = time.time()
        scenario.prepare()
        TIMINGS.append(("hosts (SSH)", "machines, tarball, inventory", time.time() - started))
        first = scenario.playbook("dpg.cluster.site", step="converge")
        FIGURES.append("HOSTS first converge over SSH (pipelining off): %.0f s, rc %d, %d changed"
                       % (first[3], first[0], first[1]))
        yield scenario, first
    finally:
        if scenario.containers and os.environ.get("DPG_HOSTS_KEEP") != "1":
            scenario.machines("absent")
        elif scenario.containers:
            print("\nDPG_HOSTS_KEEP=1: machines kept; inventory %s (remove them with docker rm -f %s; docker network rm %s)"
                  % (scenario.inv, " ".join(c["name"] for c in scenario.containers), NETWORK))
        print("\n" + "\n".join(FIGURES))


def test_converge_over_ssh_as_a_sudo_user(cluster):
    scenario, (rc, changed, out, dummy) = cluster
    assert rc == 0, why(out, tail=6000)
    assert changed > 0
    # the hosts admit no root login: every task ran as deploy through sudo
    rc, login, dummy = scenario.ssh("root", "true")
    assert rc != 0 and "Permission denied" in login, login
    rc, login, dummy = scenario.ssh("deploy", "id -un; sudo -n id -un; dpkg-query -W -f '${Status}' acl")
    assert rc == 0 and login.split()[:2] == ["deploy", "root"], login
    # the collection installed acl (the image has none: test_sshnode_image_is_minimal)
    assert "install ok installed" in login, login
    for value in scenario.secrets.values():
        assert value.split(" ")[0] not in out, "a secret is in the converge's output"


def test_rerun_with_pipelining_changes_nothing(cluster):
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    rc, changed, out, seconds = scenario.playbook("dpg.cluster.site", ANSIBLE_PIPELINING="True", step="idempotence")
    FIGURES.append("HOSTS re-run over SSH (pipelining on): %.0f s, %d changed" % (seconds, changed))
    assert rc == 0, why(out)
    assert changed == 0, why(out) + "\n" + "\n".join(line for line in out.splitlines() if line.startswith("changed:"))


def test_check_diff_on_the_converged_cluster(cluster):
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    rc, changed, out, seconds = scenario.playbook("dpg.cluster.site", "--check", "--diff", step="check --diff")
    FIGURES.append("HOSTS --check --diff: %.0f s, rc %d, %d changed" % (seconds, rc, changed))
    assert rc == 0, why(out)
    assert changed == 0, "\n".join(line for line in out.splitlines() if line.startswith("changed:"))
    for value in scenario.secrets.values():
        assert value.split(" ")[0] not in out


def test_application_user_through_the_balancer_verify_full(cluster):
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    marker = secrets.token_hex(8)
    with scenario.app_connect(RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS hosts_e2e (id bigserial PRIMARY KEY, marker text NOT NULL)")
        cur.execute("INSERT INTO hosts_e2e (marker) VALUES (%s)", (marker,))
        cur.execute("SELECT current_user, pg_is_in_recovery()")
        assert cur.fetchone() == ("app", False)
    conn.close()
    deadline = time.time() + 30
    while True:
        with scenario.app_connect(RO_PORT) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery(), count(*) FROM hosts_e2e WHERE marker = %s", (marker,))
            got = cur.fetchone()
        conn.close()
        if got == (True, 1) or time.time() > deadline:
            break
        time.sleep(1)
    assert got == (True, 1), got
    # a name the certificate does not carry is refused
    with pytest.raises(psycopg2.OperationalError, match="does not match|certificate"):
        psycopg2.connect(host="wrong.example.internal", hostaddr="127.0.0.1", port=RW_PORT, dbname="app",
                         user="app", password=scenario.secrets["vault_dpg_app_password"], sslmode="verify-full",
                         sslrootcert=os.path.join(scenario.inv, "pki", "ca.crt"), connect_timeout=10)


ETCDCTL = ("etcdctl --endpoints=https://127.0.0.1:2379 --dial-timeout=3s --command-timeout=5s "
           "--cacert=/etc/etcd/tls/ca.crt --cert=/etc/etcd/tls/server.crt --key=/etc/etcd/tls/server.key")


def _on(scenario, host, command):
    """``command`` (sh) as root in the machine of inventory host ``host``; (rc, stdout + stderr)."""
    res = docker("exec", "dpg-hosts-" + host, "sh", "-c", command)
    return res.returncode, res.stdout + res.stderr


def test_etcd_members_over_tls(cluster):
    """etcd as the role made it over SSH (the checks of the former etcd scenario)."""
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    members = sorted(h for h in scenario.hosts if h.startswith("pg-"))
    rc, out = _on(scenario, members[0], ETCDCTL + " endpoint health --cluster -w json")
    assert rc == 0, out
    health = json.loads(out[out.index("["):])
    assert len(health) == 3 and all(m["health"] for m in health), health
    rc, out = _on(scenario, members[0], ETCDCTL + " member list -w json")
    listed = json.loads(out)["members"]
    assert sorted(m["name"] for m in listed) == members, listed
    for m in listed:
        assert all(u.startswith("https://") for u in m["peerURLs"] + m["clientURLs"]), m
    key, value = "/dpg-test/" + secrets.token_hex(8), secrets.token_hex(8)
    assert _on(scenario, members[0], ETCDCTL + " put %s %s" % (key, value))[0] == 0
    try:
        for other in members[1:]:
            rc, got = _on(scenario, other, ETCDCTL + " get --print-value-only " + key)
            assert rc == 0 and got.strip() == value, (other, got)
    finally:
        _on(scenario, members[0], ETCDCTL + " del " + key)
    # the CA alone (no client certificate) and plain http are refused. With TLS 1.3 the server checks the
    # client certificate after the client has finished its side of the handshake, so the client may see only
    # "broken pipe"; the server's log names the reason.
    since = int(_on(scenario, members[0], "date +%s")[1].strip()) - 1
    rc, out = _on(scenario, members[0], "etcdctl --endpoints=https://127.0.0.1:2379 --dial-timeout=3s "
                  "--command-timeout=5s --cacert=/etc/etcd/tls/ca.crt get /x")
    log = _on(scenario, members[0], "journalctl -u etcd --no-pager -o cat --since @%d" % since)[1]
    assert rc != 0 and ("certificate" in out.lower() or "provide a certificate" in log), (out, log[-2000:])
    rc, out = _on(scenario, members[0], "etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=3s "
                  "--command-timeout=5s get /x")
    assert rc != 0, out
    rc, out = _on(scenario, members[0], "stat -c '%U %a' /etc/etcd/tls/server.key /etc/dpg/tls/node.key")
    assert out.split("\n")[:2] == ["etcd 600", "root 600"], out


def _leaders(scenario):
    """The members patronictl on pg-a lists as Leader (list of str)."""
    rc, out = _on(scenario, "pg-a", "patronictl -c /etc/patroni/config.yml list -f json")
    assert rc == 0, out
    return [m["Member"] for m in json.loads(out[out.index("["):]) if m["Role"] == "Leader"]


def test_health_check_over_ssh(cluster):
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    rc, changed, out, seconds = scenario.playbook("dpg.cluster.ops.health_check", timeout=900, step="ops/health_check")
    FIGURES.append("HOSTS ops/health_check.yml over SSH: %.0f s, rc %d" % (seconds, rc))
    assert rc == 0, why(out)
    assert changed == 0
    summary = re.search(r"health: (\d+) PASS, (\d+) FAIL", out)
    assert summary and int(summary.group(1)) > 50 and summary.group(2) == "0", out[-4000:]


def test_switchover_over_ssh(cluster):
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    before = _leaders(scenario)
    assert len(before) == 1, before
    rc, changed, out, seconds = scenario.playbook("dpg.cluster.ops.switchover", timeout=900, step="ops/switchover")
    FIGURES.append("HOSTS ops/switchover.yml over SSH: %.0f s, rc %d (leader was %s)" % (seconds, rc, before[0]))
    assert rc == 0, why(out)
    after = _leaders(scenario)
    assert after and after != before, (before, after)
    # the application writes through the balancer to the new leader
    deadline = time.time() + 30
    while True:
        try:
            with scenario.app_connect(RW_PORT) as conn, conn.cursor() as cur:
                cur.execute("INSERT INTO hosts_e2e (marker) VALUES ('after-switchover') RETURNING pg_is_in_recovery()")
                written = cur.fetchone()
            conn.close()
            break
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(1)
    assert written == (False,)


def test_a_changed_cipher_passphrase_is_refused_before_anything_is_written(cluster):
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    rc, before = _on(scenario, "backup-a", "sha256sum /etc/pgbackrest.conf")
    assert rc == 0, before
    old = scenario.secrets["vault_dpg_backup_cipher_pass"]
    scenario.secrets["vault_dpg_backup_cipher_pass"] = _secret("another-cipher")
    scenario.write_vault()
    try:
        rc, changed, out, dummy = scenario.playbook("dpg.cluster.site", "--tags", "pgbackrest", timeout=900)
    finally:
        scenario.secrets["vault_dpg_backup_cipher_pass"] = old
        scenario.write_vault()
    assert rc != 0 and changed == 0, why(out)
    assert "cannot re-encrypt" in out and "Put the previous value back" in out, why(out)
    assert _on(scenario, "backup-a", "sha256sum /etc/pgbackrest.conf")[1] == before
    for value in (old, scenario.secrets["vault_dpg_backup_cipher_pass"]):
        assert value.split(" ")[0] not in out


def test_a_login_user_without_sudo_is_named_by_preflight(cluster):
    """A login user that cannot become root stops the run in preflight, which names the host and what to do."""
    scenario, first = cluster
    assert first[0] == 0, "the first converge failed"
    rc, out = _on(scenario, "pg-a", "id nosudo >/dev/null 2>&1 || useradd --create-home --shell /bin/bash nosudo")
    assert rc == 0, out
    shutil.copy(os.path.join(scenario.keys_dir, "deploy"), os.path.join(scenario.keys_dir, "nosudo"))
    try:
        rc, changed, out, dummy = scenario.playbook("dpg.cluster.site", "--limit", "pg-a",
                                                    "-e", "ansible_user=nosudo", timeout=300)
    finally:
        os.unlink(os.path.join(scenario.keys_dir, "nosudo"))
    assert rc != 0 and changed == 0, why(out)
    assert "nosudo on pg-a cannot become root with sudo" in out and "ansible_become_password" in out, why(out)
    # nothing after preflight ran
    assert "PLAY [Foundation" not in out, out[-3000:]
