"""citus_standalone scenario: plain coordinator and workers, registered by citus_node."""

import testinfra

COORDINATOR = testinfra.get_host("docker://mol-cs-c")


def _psql(sql):
    return COORDINATOR.check_output("su postgres -c %s" % _q("psql -d dpg -Atc %s" % _q(sql)))


def _q(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_no_patroni_and_one_server_per_node():
    for name in ("mol-cs-c", "mol-cs-w1", "mol-cs-w2"):
        node = testinfra.get_host("docker://" + name)
        assert node.service("postgresql@17-main").is_running
        assert not node.service("patroni").is_running


def test_coordinator_and_workers_registered():
    rows = _psql("SELECT groupid, nodename, isactive FROM pg_dist_node ORDER BY groupid").splitlines()
    assert rows == ["0|mol-cs-c|t", "1|mol-cs-w1|t", "2|mol-cs-w2|t"]


def test_distributed_table_spreads_over_both_workers():
    _psql("CREATE TABLE IF NOT EXISTS standalone_check (id bigint PRIMARY KEY)")
    _psql("SELECT create_distributed_table('standalone_check', 'id') "
          "WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'standalone_check'::regclass)")
    _psql("INSERT INTO standalone_check SELECT generate_series(1, 1000) ON CONFLICT DO NOTHING")
    assert _psql("SELECT count(*) FROM standalone_check") == "1000"
    groups = _psql("SELECT DISTINCT groupid FROM pg_dist_placement pl JOIN pg_dist_shard s USING (shardid) "
                   "WHERE s.logicalrelid = 'standalone_check'::regclass ORDER BY 1").splitlines()
    assert groups == ["1", "2"]
