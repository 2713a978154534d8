"""citus scenario, last: every group restored to one named point (citus_create_restore_point).

Runs after the failover drills (file order): record checksums of the distributed and reference
tables through the coordinator, make the point with playbooks/ops/restore_point.yml, cause an accident
on every group, restore with playbooks/ops/restore.yml, and compare.
"""

import json
import os
import re
import sys

import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
import appsql  # noqa: E402  pylint: disable=wrong-import-position
from adhoc import playbook  # noqa: E402  pylint: disable=wrong-import-position
from drill import report, wait  # noqa: E402  pylint: disable=wrong-import-position

RW_PORT = int(os.environ.get("DPG_RW_PORT", "25000"))
GROUPS = dict((int(g), names.split(",")) for g, names in (
    part.split(":") for part in os.environ.get(
        "DPG_CITUS_GROUPS", "0:mol-cit-c1,mol-cit-c2;1:mol-cit-w1a,mol-cit-w1b;2:mol-cit-w2a,mol-cit-w2b").split(";")))
TABLES = ["distributed.users", "distributed.events", "reference.regions", "reference.country_codes"]


def _sql(query, args=None):
    """As the application role through the balancer's read-write port, verify-full, autocommit."""
    return appsql.sql(RW_PORT, query, args, autocommit=True) or []


def _checksums():
    out = {}
    for table in TABLES:
        key = _sql("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                   "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass AND i.indisprimary", (table,))
        order = key[0][0] if key else "t::text"
        out[table] = tuple(_sql("SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY %s), '')) FROM %s t"
                                % (order, table))[0])
    return out


def _whole(group):
    for name in GROUPS[group]:
        cmd = testinfra.get_host("docker://" + name).run(
            "patronictl -c /etc/patroni/config.yml list --group %d -f json" % group)
        if cmd.rc == 0:
            members = json.loads(cmd.stdout)
            return (sum(m["Role"] == "Leader" and m["State"] == "running" for m in members) == 1
                    and sum(m["State"] == "streaming" for m in members) == len(GROUPS[group]) - 1)
    return False


def test_every_group_restored_to_one_named_point():
    assert all(wait(lambda g=g: _whole(g), 120) for g in GROUPS)
    before = _checksums()
    rc, _changed, out = playbook("playbooks/ops/restore_point.yml", "-e", "restore_point_name=citus_drill")
    assert rc == 0, out[-4000:]
    # the accident: rows gone on every worker group, a reference table dropped
    _sql("DELETE FROM distributed.events WHERE event_id % 3 = 0")
    _sql("UPDATE distributed.users SET email = 'lost' WHERE user_id % 5 = 0")
    _sql("DROP TABLE reference.country_codes CASCADE")
    rc, _changed, out = playbook("playbooks/ops/restore.yml", "-e", "restore_confirm=true", "-e", "restore_type=name",
                                 "-e", "restore_target=citus_drill")
    for line in re.findall(r"RESTORE [^\"'\n]*", re.sub(r"\n\s+", " ", out)):
        report(line.strip())
    assert rc == 0, out[-6000:]
    assert "row counts equal to those recorded with citus_drill" in re.sub(r"\s+", " ", out), out[-3000:]
    assert all(wait(lambda g=g: _whole(g), 180) for g in GROUPS)
    after = _checksums()
    lost = {t: before[t][0] - after[t][0] for t in TABLES}
    report("CITUS RESTORE to citus_drill: rows lost per table relative to the point %s; checksums %s"
           % (lost, "equal" if after == before else "DIFFER"))
    assert after == before
    # writes through the coordinator reach the restored workers
    _sql("INSERT INTO distributed.events (user_id, event_type) SELECT user_id, 'after-restore' FROM distributed.users LIMIT 50")
    assert _sql("SELECT count(*) FROM distributed.events WHERE event_type = 'after-restore'")[0][0] == 50
    nodes = _sql("SELECT groupid, nodename FROM pg_dist_node WHERE noderole = 'primary' ORDER BY groupid")
    assert [row[0] for row in nodes] == sorted(GROUPS), nodes
