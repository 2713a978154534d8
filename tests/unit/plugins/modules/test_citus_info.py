"""citus_info against an in-memory coordinator (tests/unit/fake_citus.py)."""

from ansible_collections.dpg.cluster.plugins.modules import citus_info

from tests.unit.helpers import run_module


# ---- citus_info --------------------------------------------------------------------------------

def test_info_reports_nodes_tables_and_skew(citus):
    citus.bytes_per_node = {"w1a:5432": 3000, "w2a:5432": 1000}
    res, failed = run_module(citus_info.main, dict(login_db="citus", sizes=True))
    assert not failed and res["changed"] is False
    assert [n["nodename"] for n in res["nodes"]] == ["coord", "w1a", "w2a"]
    assert res["tables"][0] == {"name": "distributed.users", "type": "hash", "colocationid": 1,
                                "distribution_column": "user_id", "shard_count": 32}
    assert res["shards_per_node"] == {"coord:5432": 2, "w1a:5432": 40, "w2a:5432": 24}
    assert res["shard_skew_pct"] == 25.0  # mean 32 over the two workers, max 40
    assert res["bytes_skew_pct"] == 50.0
    assert citus.executed == []
