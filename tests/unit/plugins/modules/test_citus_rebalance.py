"""citus_rebalance against an in-memory coordinator (tests/unit/fake_citus.py)."""

from ansible_collections.dpg.cluster.plugins.modules import citus_rebalance

from tests.unit.helpers import run_module


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
