"""citus_node, citus_info, citus_rebalance and citus_tenant against an in-memory coordinator."""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils import _citus
from ansible_collections.dpg.cluster.plugins.modules import citus_info, citus_node, citus_rebalance, citus_tenant

from .fake_citus import FakeCitus
from .helpers import run_module


@pytest.fixture
def citus(monkeypatch):
    fake = FakeCitus()
    fake.add_node("coord", groupid=0, shouldhaveshards=False)
    fake.add_node("w1a", groupid=1)
    fake.add_node("w2a", groupid=2)
    fake.placements = {0: 2, 1: 40, 2: 24}
    fake.add_table("distributed.users", {"user_id": "bigint"})
    fake.distribute("distributed.users", "user_id")
    fake.add_table("reference.regions", {"id": "integer"})
    for m in (citus_node, citus_info, citus_rebalance, citus_tenant):
        monkeypatch.setattr(m, "connect_or_fail", fake.connect)
    return fake


def node(args, **kw):
    return run_module(citus_node.main, dict(login_db="citus", **args), **kw)


# ---- citus_node --------------------------------------------------------------------------------

def test_present_node_is_verified_not_added(citus):
    res, failed = node(dict(node_name="w1a", state="active"))
    assert not failed and res["changed"] is False
    assert res["node"]["placements"] == 40
    assert citus.executed == []


def test_missing_primary_under_patroni_is_an_error_not_an_add(citus):
    res, failed = node(dict(node_name="w3a"))
    assert failed
    assert "registers each worker group's primary itself" in res["msg"]
    assert "patroni_managed: false" in res["msg"]
    assert citus.executed == []


def test_add_without_patroni_then_idempotent(citus):
    res, failed = node(dict(node_name="w3a", state="active", patroni_managed=False, group_id=3))
    assert not failed and res["changed"] is True
    assert res["node"]["groupid"] == 3
    res, failed = node(dict(node_name="w3a", state="active", patroni_managed=False, group_id=3))
    assert not failed and res["changed"] is False


def test_disable_then_activate(citus):
    res, failed = node(dict(node_name="w2a", state="inactive", synchronous=True), diff=True)
    assert not failed and res["changed"] and res["node"]["isactive"] is False
    assert res["diff"]["before"]["isactive"] is True
    res, failed = node(dict(node_name="w2a", state="inactive"))
    assert not failed and res["changed"] is False
    res, failed = node(dict(node_name="w2a", state="active"))
    assert not failed and res["changed"] and res["node"]["isactive"] is True


def test_drain_moves_placements_and_is_idempotent(citus):
    citus.add_node("w3a", groupid=3)
    res, failed = node(dict(node_name="w2a", state="drained"))
    assert not failed and res["changed"]
    assert res["node"]["placements"] == 0 and res["node"]["shouldhaveshards"] is False
    assert "citus_drain_node" in res["queries"][-1]
    res, failed = node(dict(node_name="w2a", state="drained"))
    assert not failed and res["changed"] is False


def test_remove_refuses_a_node_with_shards_unless_drained(citus):
    res, failed = node(dict(node_name="w2a", state="absent", drain=False))
    assert failed and "holds 24 shard placements: drain it first" in res["msg"]
    assert citus.executed == []
    res, failed = node(dict(node_name="w2a", state="absent"))
    assert not failed and res["changed"] and res["node"] is None
    calls = [q.split("(")[0] for q, a in citus.executed]
    assert calls == ["SELECT pg_catalog.citus_drain_node", "SELECT pg_catalog.citus_remove_node"]
    res, failed = node(dict(node_name="w2a", state="absent"))
    assert not failed and res["changed"] is False


def test_node_check_mode_runs_nothing(citus):
    res, failed = node(dict(node_name="w2a", state="absent"), check_mode=True)
    assert not failed and res["changed"] is True
    assert citus.executed == []
    assert any("citus_remove_node('w2a', 5432)" in q for q in res["queries"])


@pytest.mark.parametrize("args,message", [
    (dict(node_name="nope", state="inactive"), "nope:5432 is not in pg_dist_node"),
    (dict(node_name="nope", state="drained"), "nothing to drain"),
    (dict(node_name="w1a", node_port=70000), "node_port must be 1-65535"),
])
def test_node_bad_input(citus, args, message):
    res, failed = node(args)
    assert failed and message in res["msg"]
    assert citus.executed == []


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


# ---- citus_rebalance ---------------------------------------------------------------------------

PLAN = [("distributed.users", 102000 + i, 0, "w1a", 5432, "w2a", 5432) for i in range(8)]


def test_rebalance_balanced_cluster_changes_nothing(citus):
    res, failed = run_module(citus_rebalance.main, dict(login_db="citus", strategy="by_shard_count"))
    assert not failed and res["changed"] is False and res["plan"] == []
    assert citus.executed == []


def test_rebalance_check_mode_returns_plan_only(citus):
    citus.rebalance_plan = list(PLAN)
    res, failed = run_module(citus_rebalance.main, dict(login_db="citus"), check_mode=True)
    assert not failed and res["changed"] is True
    assert len(res["plan"]) == 8 and res["plan"][0]["source"] == "w1a:5432"
    assert citus.executed == []
    assert citus.placements[1] == 40


def test_rebalance_runs_waits_and_reports_skew(citus):
    citus.rebalance_plan = list(PLAN)
    res, failed = run_module(citus_rebalance.main, dict(login_db="citus", strategy="by_shard_count",
                                                        poll_interval=1), diff=True)
    assert not failed, res
    assert res["job_id"] == 7 and res["state"] == "finished"
    assert res["shards_per_node_before"]["w1a:5432"] == 40 and res["shards_per_node_after"]["w1a:5432"] == 32
    assert res["skew_before_pct"] == 25.0 and res["skew_after_pct"] == 0.0
    res, failed = run_module(citus_rebalance.main, dict(login_db="citus", strategy="by_shard_count"))
    assert not failed and res["changed"] is False


def test_rebalance_failed_job_is_reported(citus):
    citus.rebalance_plan = list(PLAN)
    citus.rebalance_final_state = "failed"
    res, failed = run_module(citus_rebalance.main, dict(login_db="citus", poll_interval=1))
    assert failed and "rebalance job 7 failed" in res["msg"]


def test_rebalance_refuses_while_another_runs(citus):
    citus.rebalance_jobs = [(3, "running", "{}")]
    res, failed = run_module(citus_rebalance.main, dict(login_db="citus"))
    assert failed and "rebalance job 3 is already running" in res["msg"]


def test_rebalance_bad_timeout(citus):
    res, failed = run_module(citus_rebalance.main, dict(login_db="citus", wait_timeout=0))
    assert failed and "must be positive" in res["msg"]


# ---- citus_tenant ------------------------------------------------------------------------------

def test_isolate_tenant_then_idempotent(citus):
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", table="distributed.users", tenant="42"),
                             diff=True)
    assert not failed, res
    assert res["changed"] is True and res["isolated"] is True
    assert res["shard_after"]["min"] == res["shard_after"]["max"]
    query, args = citus.executed[-1]
    assert "%s::bigint" in query and args[1] == "42" and args[2] == "CASCADE"
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", table="distributed.users", tenant="42"))
    assert not failed and res["changed"] is False


def test_isolate_check_mode(citus):
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", table="distributed.users", tenant="7"),
                             check_mode=True)
    assert not failed and res["changed"] is True and citus.executed == []


@pytest.mark.parametrize("args,message", [
    (dict(table="no.table", tenant="1"), "table no.table does not exist"),
    (dict(table="reference.regions", tenant="1"), "is not hash-distributed"),
    (dict(table="distributed.users", tenant="abc'; DROP"), "is not a valid bigint value"),
])
def test_isolate_bad_input(citus, args, message):
    citus.bad_value = "abc'; DROP"
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", **args))
    assert failed and message in res["msg"]
    assert citus.executed == []


# ---- pure helpers ------------------------------------------------------------------------------

def test_skew_and_table_type():
    assert _citus.skew({}) == 0.0
    assert _citus.skew({"a": 0, "b": 0}) == 0.0
    assert _citus.skew({"a": 16, "b": 16}) == 0.0
    assert _citus.skew({"a": 24, "b": 8}) == 50.0
    assert _citus.table_type(dict(partmethod="n", repmodel="t", colocationid=5, shard_count=1)) == "reference"
    assert _citus.table_type(dict(partmethod="n", repmodel="s", colocationid=0, shard_count=1)) == "local"
    assert _citus.table_type(dict(partmethod="n", repmodel="s", colocationid=9, shard_count=1)) == "single_shard"
    assert _citus.table_type(None) is None
    assert _citus.quote_ident("users") == "users" and _citus.quote_ident('Ta"b') == '"Ta""b"'


def test_write_modules_refuse_a_coordinator_replica_but_info_reads_it(citus):
    citus.in_recovery = True
    res, failed = node(dict(node_name="w2a", state="drained"))
    assert failed and "replica of the coordinator group" in res["msg"]
    res, failed = run_module(citus_info.main, dict(login_db="citus"))
    assert not failed and res["shards_per_node"]


def test_server_error_message_names_the_statement(citus):
    citus.fail_on = "citus_drain_node"
    res, failed = node(dict(node_name="w2a", state="drained"))
    assert failed
    assert "citus_drain_node('w2a', 5432" in res["msg"] and "injected failure" in res["msg"]
