"""Pure decisions of module_utils/_patroni.py."""

from ansible_collections.dpg.cluster.plugins.module_utils._patroni import (
    config_patch, deep_merge, health_problems, normalize_cluster)

CLUSTER = {"members": [
    {"name": "a", "role": "leader", "state": "running", "timeline": 4, "host": "a", "port": 5432},
    {"name": "b", "role": "sync_standby", "state": "streaming", "timeline": 4, "lag": 0},
    {"name": "c", "role": "replica", "state": "streaming", "timeline": 4, "lag": 50 * 1024 * 1024,
     "pending_restart": True},
]}


def test_normalize_finds_leader_replicas_and_pending_restart():
    s = normalize_cluster(CLUSTER)
    assert s["leader"] == "a"
    assert s["timeline"] == 4
    assert [m["name"] for m in s["replicas"]] == ["b", "c"]
    assert [m["name"] for m in s["members"] if m["pending_restart"]] == ["c"]
    assert s["paused"] is False


def test_normalize_unknown_lag_is_none():
    s = normalize_cluster({"members": [{"name": "x", "role": "replica", "state": "streaming", "lag": "unknown"}]})
    assert s["members"][0]["lag_bytes"] is None
    assert s["leader"] is None


def test_health_counts_only_replicas_within_lag():
    s = normalize_cluster(CLUSTER)
    assert health_problems(s) == []
    problems = health_problems(s, replicas=2, max_lag=16 * 1024 * 1024)
    assert any("replica c lags" in p for p in problems)
    assert "1 of 2 required replicas streaming" in problems
    assert health_problems(s, replicas=1, max_lag=16 * 1024 * 1024) == [
        p for p in problems if p.startswith("replica c")]


def test_health_without_leader():
    s = normalize_cluster({"members": [{"name": "b", "role": "replica", "state": "stopped"}]})
    problems = health_problems(s)
    assert "no leader" in problems
    assert "replica b is stopped" in problems


def test_config_patch_only_differences():
    current = {"ttl": 30, "loop_wait": 10, "synchronous_mode": False,
               "postgresql": {"parameters": {"max_connections": 100, "hot_standby": "on"}}}
    desired = {"ttl": "30", "loop_wait": 5, "synchronous_mode": True,
               "postgresql": {"parameters": {"max_connections": 100, "hot_standby": True, "work_mem": "8MB"}}}
    assert config_patch(current, desired) == {
        "loop_wait": 5, "synchronous_mode": True, "postgresql": {"parameters": {"work_mem": "8MB"}}}


def test_config_patch_equal_is_empty_and_null_deletes_only_present_keys():
    current = {"ttl": 30, "postgresql": {"parameters": {"a": "1"}}}
    assert config_patch(current, {"ttl": 30}) == {}
    assert config_patch(current, {"missing": None}) == {}
    assert config_patch(current, {"postgresql": {"parameters": {"a": None}}}) == {
        "postgresql": {"parameters": {"a": None}}}


def test_config_patch_on_off_and_quorum():
    assert config_patch({"synchronous_mode": "quorum"}, {"synchronous_mode": "quorum"}) == {}
    assert config_patch({"synchronous_mode": True}, {"synchronous_mode": "quorum"}) == {"synchronous_mode": "quorum"}
    assert config_patch({"x": "off"}, {"x": False}) == {}
    assert config_patch({"x": 1}, {"x": "1"}) == {}


def test_deep_merge_applies_patch_like_patroni():
    base = {"ttl": 30, "postgresql": {"parameters": {"a": 1, "b": 2}}}
    out = deep_merge(base, {"ttl": 20, "postgresql": {"parameters": {"a": None, "c": 3}}})
    assert out == {"ttl": 20, "postgresql": {"parameters": {"b": 2, "c": 3}}}
    assert base["postgresql"]["parameters"] == {"a": 1, "b": 2}  # input untouched
