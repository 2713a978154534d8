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

import psycopg2
import pytest
import testinfra

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
from drill import WriteLoop, report, wait  # noqa: E402  pylint: disable=wrong-import-position

testinfra_hosts = ["ansible://postgres"]

RW_PORT = int(os.environ.get("DPG_RW_PORT", "15000"))
RO_PORT = int(os.environ.get("DPG_RO_PORT", "15001"))
LAB_DIR = os.environ["DPG_LAB_DIR"]
NODES = os.environ.get("DPG_PG_NODES", "mol-ha-pg1,mol-ha-pg2,mol-ha-pg3").split(",")
# fast profile: ttl 20 + loop_wait 5, HAProxy fall 3 x inter 1 s + rise 2 x fastinter 0.5 s,
# plus 10 s for the writer's reconnect and the promotion itself.
RTO_BOUND_S = 20 + 5 + 3 + 1 + 10


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
