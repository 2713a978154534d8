"""ha scenario: Patroni leader + 2 streaming replicas behind PgBouncer and HAProxy.

SQL goes to the balancer's published ports on 127.0.0.1 (read-write DPG_RW_PORT, read-only
DPG_RO_PORT) as the application role, whose password the scenario generated into DPG_LAB_DIR.
The failover drill kills the leader's container hard and is therefore the last test.
"""

import json
import os
import subprocess
import sys
import time

import docker
import psycopg2
import pytest
import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
sys.path.insert(0, os.path.join(ROOT, "playbooks", "ops", "files"))
from drill import WriteLoop, report, wait  # noqa: E402  pylint: disable=wrong-import-position
from drill_probe import Probe  # noqa: E402  pylint: disable=wrong-import-position

testinfra_hosts = ["ansible://postgres"]

RW_PORT = int(os.environ.get("DPG_RW_PORT", "15000"))
RO_PORT = int(os.environ.get("DPG_RO_PORT", "15001"))
LAB_DIR = os.environ["DPG_LAB_DIR"]
NODES = os.environ.get("DPG_PG_NODES", "mol-ha-pg1,mol-ha-pg2,mol-ha-pg3").split(",")
# fast profile: ttl 20 + loop_wait 5, HAProxy fall 3 x inter 1 s + rise 2 x fastinter 0.5 s,
# plus 10 s for the writer's reconnect and the promotion itself.
RTO_BOUND_S = 20 + 5 + 3 + 1 + 10
# The fault drills: how long a fault lasts, and the bound for every member streaming again after it.
FAULT_S = 45
HEAL_BOUND_S = 60
DOCKER = docker.from_env()


def _secret(name):
    with open(os.path.join(LAB_DIR, "secrets", name)) as f:
        return f.read().split()[0]


def _connect(port, timeout=3):
    return psycopg2.connect(host="127.0.0.1", port=port, dbname="dpg", user="dpg_app",
                            password=_secret("app"), connect_timeout=timeout)


def _patroni_list():
    """patronictl list from the first member that answers (one may be the killed leader)."""
    last = None
    for name in NODES:
        node = testinfra.get_host("docker://" + name)
        cmd = node.run("patronictl -c /etc/patroni/config.yml list -f json")
        if cmd.rc == 0:
            return json.loads(cmd.stdout)
        last = cmd.stderr
    raise AssertionError("no member answered patronictl: %s" % last)


def test_services_running(host):
    for name in ("etcd", "patroni", "pgbouncer"):
        svc = host.service(name)
        assert svc.is_running, name
        assert svc.is_enabled, name
    assert host.socket("tcp://0.0.0.0:6432").is_listening
    assert host.socket("tcp://0.0.0.0:8008").is_listening


def test_debian_main_cluster_never_created(host):
    assert not host.file("/etc/postgresql/17/main").exists
    assert host.file("/etc/patroni/config.yml").mode == 0o600


def test_one_leader_two_streaming_replicas():
    members = _patroni_list()
    roles = sorted(m["Role"] for m in members)
    assert roles.count("Leader") == 1, members
    replicas = [m for m in members if m["Role"] != "Leader"]
    assert len(replicas) == 2
    assert all(m["State"] == "streaming" for m in replicas), members
    # synchronous_mode is on in the lab inventory: one replica is the sync standby
    assert any(m["Role"] == "Sync Standby" for m in replicas), members


def test_write_through_rw_is_read_through_ro():
    marker = "row-%d" % time.time_ns()
    with _connect(RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS dpg_verify (id bigserial PRIMARY KEY, v text)")
        cur.execute("INSERT INTO dpg_verify (v) VALUES (%s)", (marker,))
        cur.execute("SELECT pg_is_in_recovery()")
        assert cur.fetchone()[0] is False

    def seen():
        with _connect(RO_PORT) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery(), count(*) FROM dpg_verify WHERE v = %s", (marker,))
            recovery, count = cur.fetchone()
            return recovery and count == 1
    assert wait(seen, 15)


def test_ro_refuses_writes():
    with _connect(RO_PORT) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.Error) as err:
            cur.execute("CREATE TABLE dpg_must_fail (id int)")
    assert "read-only" in str(err.value)


def test_pgbouncer_pools_server_connections():
    """40 client sessions, each running a statement, share a few server connections."""
    clients = [_connect(RW_PORT) for dummy in range(40)]
    try:
        for c in clients:
            c.autocommit = True
            with c.cursor() as cur:
                cur.execute("SELECT 1")
        with clients[0].cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'dpg_app' "
                        "AND backend_type = 'client backend'")
            servers = cur.fetchone()[0]
    finally:
        for c in clients:
            c.close()
    assert 1 <= servers <= 25, servers  # default_pool_size 25, far fewer than 40 clients


def test_superuser_cannot_log_in_through_the_pooler():
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(host="127.0.0.1", port=RW_PORT, dbname="postgres", user="postgres",
                         password=_secret("superuser"), connect_timeout=3).close()


def test_replication_and_rewind_only_from_members():
    """pg_hba: replication and rewind from the members' addresses and the loopback only."""
    node = testinfra.get_host("docker://" + NODES[0])
    lines = [ln.split() for ln in node.file("/var/lib/postgresql/17/dpg-lab/pg_hba.conf").content_string.splitlines()
             if ln.strip() and not ln.startswith("#")]
    repl = [ln for ln in lines if ln[0] in ("host", "hostssl") and ln[1] == "replication"]
    addresses = sorted(_member_ips().values())
    assert sorted(ln[3] for ln in repl) == sorted(["127.0.0.1/32"] + [a + "/32" for a in addresses]), repl
    rewind = [ln for ln in lines if ln[0] in ("host", "hostssl") and ln[2] == "rewind_user"]
    assert sorted(ln[3] for ln in rewind) == sorted(["127.0.0.1/32"] + [a + "/32" for a in addresses]), rewind
    assert ["hostssl", "replication", "replicator", "127.0.0.1/32", "scram-sha-256"] in lines
    assert lines[-2:] == [["host", "all", "all", "0.0.0.0/0", "reject"], ["host", "all", "all", "::/0", "reject"]]


def _member_ips():
    """{member: IPv4 address on the scenario's network} (Docker SDK)."""
    out = {}
    for name in NODES:
        nets = DOCKER.containers.get(name).attrs["NetworkSettings"]["Networks"]
        out[name] = next(iter(nets.values()))["IPAddress"]
    return out


def _exec(name, cmd):
    """Run cmd (argv) in a container through the Docker SDK; fail the test when it fails."""
    res = DOCKER.containers.get(name).exec_run(cmd)
    assert res.exit_code == 0, (name, cmd, res.output.decode()[-500:])
    return res.output.decode()


def _leader():
    return [m["Member"] for m in _patroni_list() if m["Role"] == "Leader"][0]


def _all_streaming():
    members = _patroni_list()
    return (sum(m["Role"] == "Leader" and m["State"] == "running" for m in members) == 1
            and sum(m["State"] == "streaming" for m in members) == len(NODES) - 1)


def _probe():
    creds = dict(dbname="dpg", user="dpg_app", password=_secret("app"))
    return Probe(rw=dict(creds, host="127.0.0.1", port=RW_PORT), ro=dict(creds, host="127.0.0.1", port=RO_PORT),
                 members={n: dict(creds, host=ip, port=5432) for n, ip in _member_ips().items()})


def _drill(name, inject, restore, hold=FAULT_S):
    """Run one drill: probe, inject(leader), hold, restore(leader), wait for every member streaming."""
    assert wait(_all_streaming, 120, step=2), "cluster not healthy before the drill: %s" % _patroni_list()
    probe = _probe()
    assert probe.start() > 0, "the probe wrote nothing before the fault"
    leader = _leader()
    probe.mark("fault")
    try:
        inject(leader)
        time.sleep(hold)
    finally:
        restore(leader)
    probe.mark("restored")
    restored_at = time.time()
    healed = wait(_all_streaming, HEAL_BOUND_S + 60, step=1)
    heal_s = time.time() - restored_at
    time.sleep(3)
    probe.stop()
    rep = probe.report()
    figures = (name, hold, leader, _leader() if healed else "?", rep["write_outage_s"], rep["writes_acked"],
               rep["rows_lost"], rep["two_writable_s"], rep["ro_stale_reads"], rep["ro_reads"], heal_s)
    report("DRILL %s (%d s, leader %s -> %s): write outage %.1f s, %d rows acknowledged, %d lost, "
           "%.1f s with two writable members, %d of %d read-only answers stale, every member streaming "
           "%.1f s after the fault ended" % figures)
    assert healed, "not every member streams %d s after the fault ended: %s" % (HEAL_BOUND_S + 60, _patroni_list())
    assert heal_s <= HEAL_BOUND_S, "members streamed again only after %.1f s" % heal_s
    assert rep["rows_lost"] == 0, rep
    assert rep["ro_stale_reads"] == 0, "the read-only port answered from a member that does not stream: %s" % rep
    # the read-only port must answer, and answer again after the fault: "no stale read" proves nothing otherwise
    assert rep["ro_reads"] > 0 and rep["ro_last_read_s"] is not None \
        and rep["ro_last_read_s"] > rep["marks"]["restored"], "the read-only port stopped answering: %s" % rep
    return rep, leader


NFT_CUT = ("nft add table inet dpg_drill && "
           "nft add chain inet dpg_drill input '{ type filter hook input priority -10; policy drop; }' && "
           "nft add rule inet dpg_drill input iif lo accept && "
           "nft add chain inet dpg_drill output '{ type filter hook output priority -10; policy drop; }' && "
           "nft add rule inet dpg_drill output oif lo accept")


def test_drill_partition_of_the_leader():
    """The leader loses its network: a replica takes over, the old leader rewinds and streams again."""
    for name in NODES:
        _exec(name, ["sh", "-c", "command -v nft >/dev/null || "
                                 "(apt-get install -y -qq nftables >/dev/null 2>&1 || "
                                 "(apt-get update -qq && apt-get install -y -qq nftables >/dev/null))"])
    rep, leader = _drill("partition",
                         lambda leader: _exec(leader, ["sh", "-c", NFT_CUT]),
                         lambda leader: _exec(leader, ["sh", "-c", "nft delete table inet dpg_drill || true"]))
    assert _leader() != leader


def test_drill_frozen_patroni_on_the_leader():
    """SIGSTOP to the leader's Patroni: a replica takes over; once thawed the old leader rejoins."""
    rep, leader = _drill(
        "frozen Patroni",
        lambda leader: _exec(leader, ["systemctl", "kill", "--kill-whom=main", "--signal=SIGSTOP", "patroni"]),
        lambda leader: _exec(leader, ["systemctl", "kill", "--kill-whom=main", "--signal=SIGCONT", "patroni"]))
    assert _leader() != leader


def test_drill_etcd_quorum_loss_keeps_the_primary_writable():
    """Two of three etcd members stopped: with failsafe_mode the primary stays writable."""
    victims = NODES[:2]
    rep, leader = _drill(
        "etcd quorum lost",
        lambda leader: [_exec(n, ["systemctl", "stop", "etcd"]) for n in victims],
        lambda leader: [_exec(n, ["systemctl", "start", "etcd"]) for n in victims], hold=40)
    assert _leader() == leader, "the leader changed during a DCS outage"
    assert rep["write_outage_s"] < 5, "writes paused %.1f s during the DCS outage" % rep["write_outage_s"]


def test_drill_rolling_restart_of_every_node():
    """Containers restarted one by one, replicas first: no row lost, the pool follows."""
    def restart_all(leader):
        for name in [n for n in NODES if n != leader] + [leader]:
            DOCKER.containers.get(name).restart(timeout=30)
            assert wait(_all_streaming, HEAL_BOUND_S, step=1), "%s did not rejoin: %s" % (name, _patroni_list())
    _drill("rolling restart", restart_all, lambda leader: None, hold=0)


def test_drill_playbook_reports_a_dcs_outage(tmp_path):
    """playbooks/ops/drill.yml as an operator runs it: confirmation, fault, restore, JSON report."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), NO_COLOR="1", ANSIBLE_FORCE_COLOR="0")
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    base = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
            os.path.join(ROOT, "playbooks", "ops", "drill.yml"), "-e", "drill=dcs_quorum_loss",
            "-e", "drill_rw_host=127.0.0.1", "-e", "drill_rw_port=%d" % RW_PORT, "-e", "drill_ro_port=%d" % RO_PORT,
            "-e", "drill_seconds=20", "-e", "drill_report_dir=%s" % tmp_path]
    refused = subprocess.run(base, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode != 0 and "drill_confirm" in refused.stdout, refused.stdout[-2000:]
    res = subprocess.run(base + ["-e", "drill_confirm=dcs_quorum_loss"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    with open(tmp_path / "drill-dcs_quorum_loss.json") as f:
        rep = json.load(f)
    report("DRILL playbook dcs_quorum_loss (20 s): write outage %.1f s, %d rows acknowledged, %d lost, "
           "%.1f s two writable, every member streaming %.1f s after the fault ended"
           % (rep["write_outage_s"], rep["writes_acked"], rep["rows_lost"], rep["two_writable_s"], rep["heal_s"]))
    assert rep["writes_acked"] > 100 and rep["rows_lost"] == 0
    assert rep["write_outage_s"] < 5
    # the read-only endpoint answered throughout (DCS outage: the replicas keep streaming), none stale
    assert rep["ro_reads"] > 0 and rep["ro_stale_reads"] == 0, rep
    assert sorted(_exec(n, ["systemctl", "is-active", "etcd"]).strip() for n in NODES) == ["active"] * 3


def test_zz_failover_drill_hard_kill_of_the_leader():
    """Writer loop on :RW_PORT, leader's container killed; writes resume within the bound, none lost."""
    with _connect(RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS dpg_drill (id bigint PRIMARY KEY, at timestamptz DEFAULT now())")
        cur.execute("TRUNCATE dpg_drill")
    leader = [m["Member"] for m in _patroni_list() if m["Role"] == "Leader"][0]

    def insert(cur, i):
        cur.execute("INSERT INTO dpg_drill (id) VALUES (%s)", (i,))
        return i

    loop = WriteLoop(lambda: _connect(RW_PORT, timeout=2), insert)
    before_kill = loop.start()
    loop.mark_kill()
    subprocess.run(["docker", "kill", leader], check=True, capture_output=True)
    resumed = loop.wait_resumed(RTO_BOUND_S + 30)
    loop.stop()
    assert resumed, "writes did not resume within %ss; last errors: %s" % (RTO_BOUND_S + 30, loop.errors[-3:])
    rto = loop.resumed_after
    report("\nDRILL hard kill of %s: writes resumed %.1f s after the kill (first failed write at +%.1f s; "
           "bound %d s); %d rows acknowledged (%d before the kill), %d failed attempts"
           % (leader, rto, loop.first_failure_after, RTO_BOUND_S, len(loop.acked), before_kill, len(loop.errors)))
    assert before_kill > 0
    assert rto <= RTO_BOUND_S, "RTO %.1f s over the fast profile's bound %d s" % (rto, RTO_BOUND_S)

    with _connect(RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM dpg_drill")
        present = {r[0] for r in cur.fetchall()}
    lost = sorted(set(loop.acked) - present)
    report("DRILL rows lost: %d of %d acknowledged" % (len(lost), len(loop.acked)))
    assert not lost, "acknowledged rows lost: %s" % lost[:20]

    new_leader = [m["Member"] for m in _patroni_list() if m["Role"] == "Leader"]
    assert new_leader and new_leader[0] != leader
    # bring the old leader back: Patroni rejoins it as a replica (pg_rewind when needed)
    subprocess.run(["docker", "start", leader], check=True, capture_output=True)
    assert wait(lambda: sum(m["State"] == "streaming" for m in _patroni_list()) == 2, 120, step=2), \
        "the old leader did not rejoin as a streaming replica: %s" % _patroni_list()
