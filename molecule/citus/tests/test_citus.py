"""citus scenario: every Citus group a Patroni HA cluster, tables where they belong, failover drills.

SQL goes to the balancer's read-write port (the coordinator group's primary) as the application
role. The drills (worker primary killed under inserts, coordinator switchover) run last.
"""

import base64
import json
import os
import subprocess
import sys
import time

import testinfra

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
import appsql  # noqa: E402  pylint: disable=wrong-import-position
from drill import WriteLoop, report, wait  # noqa: E402  pylint: disable=wrong-import-position

RW_PORT = int(os.environ.get("DPG_RW_PORT", "25000"))
# DPG_CITUS_GROUPS="0:c1,c2;1:w1a,w1b;2:w2a,w2b" points the tests at another topology (the lab).
GROUPS = dict((int(g), names.split(",")) for g, names in (
    part.split(":") for part in os.environ.get(
        "DPG_CITUS_GROUPS", "0:mol-cit-c1,mol-cit-c2;1:mol-cit-w1a,mol-cit-w1b;2:mol-cit-w2a,mol-cit-w2b").split(";")))
# fast profile: ttl 20 + loop 5 + 10 s for Patroni's pg_dist_node update and the client's retry
WORKER_RTO_BOUND_S = 35


def _sql(query, args=None, timeout=5):
    """As the application role through the balancer's read-write port, verify-full, autocommit."""
    return appsql.sql(RW_PORT, query, args, autocommit=True, timeout=timeout) or []


def _patroni(group):
    """patronictl list for one Citus group, from the first member that answers."""
    for name in GROUPS[group]:
        cmd = testinfra.get_host("docker://" + name).run(
            "patronictl -c /etc/patroni/config.yml list --group %d -f json" % group)
        if cmd.rc == 0:
            return json.loads(cmd.stdout)
    raise AssertionError("no member of group %d answered" % group)


def _leader(group):
    return [m["Member"] for m in _patroni(group) if m["Role"] == "Leader"][0]


def _dist_nodes():
    return _sql("SELECT groupid, nodename, noderole::text, isactive FROM pg_dist_node ORDER BY groupid, nodename")


def test_every_group_primary_registered_in_pg_dist_node():
    rows = _dist_nodes()
    primaries = dict((g, n) for g, n, role, active in rows if role == "primary" and active)
    assert sorted(primaries) == [0, 1, 2], rows
    for group in (0, 1, 2):
        assert primaries[group] == _leader(group), (group, rows)
    secondaries = [n for g, n, role, a in rows if role == "secondary"]
    assert len(secondaries) == 3, rows  # Patroni 4 registers running replicas as secondaries


def test_tables_are_where_they_belong():
    kinds = dict(_sql("SELECT logicalrelid::regclass::text, partmethod::text || repmodel::text "
                      "FROM pg_dist_partition"))
    assert kinds["distributed.users"][0] == "h" and kinds["distributed.events"][0] == "h"
    assert kinds["reference.country_codes"] == "nt" and kinds["reference.regions"] == "nt"
    # the seeds' check "local table not distributed": a plain table, not in Citus metadata
    assert "local.system_config" not in kinds
    colocation = dict(_sql("SELECT logicalrelid::regclass::text, colocationid FROM pg_dist_partition "
                           "WHERE partmethod = 'h'"))
    assert colocation["distributed.users"] == colocation["distributed.events"]
    per_group = dict(_sql("SELECT pl.groupid, count(*) FROM pg_dist_placement pl JOIN pg_dist_shard s USING (shardid) "
                          "WHERE s.logicalrelid = 'distributed.users'::regclass GROUP BY 1"))
    assert sorted(per_group) == [1, 2] and sum(per_group.values()) == 32, per_group
    ref_groups = _sql("SELECT count(DISTINCT pl.groupid) FROM pg_dist_placement pl JOIN pg_dist_shard s USING (shardid) "
                      "WHERE s.logicalrelid = 'reference.country_codes'::regclass")[0][0]
    assert ref_groups == 3  # coordinator and both worker groups


def test_data_loaded_and_colocated_join_without_repartition():
    assert _sql("SELECT count(*) FROM distributed.users")[0][0] == 10000
    assert _sql("SELECT count(*) FROM distributed.events")[0][0] == 50000
    plan = "\n".join(r[0] for r in _sql(
        "EXPLAIN SELECT u.user_id, count(*) FROM distributed.users u JOIN distributed.events e USING (user_id) "
        "GROUP BY 1"))
    assert "Citus Adaptive" in plan and "Task Count: 32" in plan, plan
    assert "repartition" not in plan.lower() and "MapMergeJob" not in plan, plan
    router = "\n".join(r[0] for r in _sql(
        "EXPLAIN SELECT count(*) FROM distributed.users u JOIN distributed.events e USING (user_id) "
        "WHERE u.user_id = 42"))
    assert "Task Count: 1" in router, router


def test_reference_join_on_every_node():
    rows = _sql("SELECT r.region_name, c.name FROM reference.regions r JOIN reference.country_codes c "
                "ON c.code = r.country_code ORDER BY 1")
    assert len(rows) == 3


def _group1_primary_registered(expected):
    return [n for g, n, role, a in _dist_nodes() if g == 1 and role == "primary"] == [expected]


def test_zy_worker_primary_killed_under_inserts():
    leader = _leader(1)
    # only tenants whose shards live in group 1: a write pause there is not hidden by group 2
    ids = [r[0] for r in _sql(
        "SELECT user_id FROM distributed.users WHERE get_shard_id_for_distribution_column('distributed.users', user_id) "
        "IN (SELECT shardid FROM pg_dist_placement WHERE groupid = 1) ORDER BY user_id LIMIT 500")]
    assert ids

    def insert(cur, i):
        cur.execute("INSERT INTO distributed.events (user_id, event_type) VALUES (%s, 'drill') RETURNING event_id",
                    (ids[i % len(ids)],))
        return cur.fetchone()[0]

    loop = WriteLoop(lambda: appsql.connect(RW_PORT, timeout=2), insert)
    before = loop.start()
    loop.mark_kill()
    subprocess.run(["docker", "kill", leader], check=True, capture_output=True)
    resumed = loop.wait_resumed(WORKER_RTO_BOUND_S + 30)
    loop.stop()
    assert resumed, "inserts did not resume; last errors: %s" % loop.errors[-3:]
    pause = loop.resumed_after
    report("\nCITUS DRILL worker group 1 primary %s killed: inserts resumed %.1f s after the kill "
           "(first failed insert at +%.1f s); %d inserts acknowledged (%d before), %d failed attempts"
           % (leader, pause, loop.first_failure_after, len(loop.acked), before, len(loop.errors)))
    assert before > 0
    new_leader = _leader(1)
    assert new_leader != leader
    assert wait(lambda: _group1_primary_registered(new_leader), 60), _dist_nodes()
    present = {r[0] for r in _sql("SELECT event_id FROM distributed.events WHERE event_type = 'drill'")}
    lost = sorted(set(loop.acked) - present)
    report("CITUS DRILL rows lost: %d of %d acknowledged" % (len(lost), len(loop.acked)))
    assert not lost
    assert pause <= WORKER_RTO_BOUND_S
    subprocess.run(["docker", "start", leader], check=True, capture_output=True)
    assert wait(lambda: sum(m["State"] == "streaming" for m in _patroni(1)) == 1, 120, step=2), _patroni(1)


def test_zz_coordinator_switchover_keeps_pg_dist_node_right():
    old = _leader(0)
    new = [n for n in GROUPS[0] if n != old][0]
    auth = base64.b64encode(("patroni:%s" % appsql.secret("restapi")).encode()).decode()
    node = testinfra.get_host("docker://" + new)
    body = json.dumps({"leader": old, "candidate": new})
    started = time.time()
    cmd = node.run("python3 -c %s" % _quote(
        "import ssl,urllib.request;"
        "c=ssl.create_default_context(cafile='/etc/patroni/tls/ca.crt');"
        "c.load_cert_chain('/etc/patroni/tls/server.crt','/etc/patroni/tls/server.key');"
        "r=urllib.request.Request('https://127.0.0.1:8008/switchover',data=%r.encode(),method='POST',"
        "headers={'Authorization':'Basic %s','Content-Type':'application/json'});"
        "print(urllib.request.urlopen(r,timeout=60,context=c).status)" % (body, auth)))
    assert cmd.rc == 0 and "200" in cmd.stdout, cmd.stderr
    assert wait(lambda: _sql("SELECT nodename FROM pg_dist_node WHERE groupid = 0 AND noderole = 'primary'")[0][0]
                == new, 60), _dist_nodes()
    report("CITUS DRILL coordinator switchover %s -> %s: pg_dist_node and queries through :%d back after %.1f s"
           % (old, new, RW_PORT, time.time() - started))
    assert _sql("SELECT count(*) FROM distributed.users")[0][0] == 10000
    primaries = dict((g, n) for g, n, role, active in _dist_nodes() if role == "primary")
    assert primaries[0] == new


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"
