"""citus_node against an in-memory coordinator (tests/unit/fake_citus.py)."""

import pytest

from ansible_collections.dpg.cluster.plugins.modules import citus_info, citus_node

from tests.unit.helpers import run_module


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
