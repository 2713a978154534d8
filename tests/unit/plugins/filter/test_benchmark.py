"""benchmark filters: settings refused before any load, the seeds' targets judged, report structure."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter import benchmark as b


@pytest.mark.parametrize("settings,words", [
    ({"clients": 0}, "clients must be 1 to 1000, not 0"),
    ({"load_clients": 5000}, "load_clients must be 1 to 1000"),
    ({"seconds": -5}, "seconds must be 1 to 3600, not -5"),
    ({"load_seconds": "abc"}, "load_seconds must be a whole number"),
    ({"dimensions": 2001}, "pgvector indexes at most 2000 dimensions"),
    ({"endpoints": ["read_only", "nowhere"]}, "unknown endpoint(s) nowhere"),
    ({"endpoints": []}, "endpoints is empty"),
    ({"endpoints": ["read_only"], "available_endpoints": ["primary"]}, "read_only are not in this inventory"),
    ({"ef_search": [40, 5], "k": 10}, "ef_search must be a list of whole numbers from k (10) to 1000"),
    ({"ef_search": [], "k": 10}, "ef_search must be a list"),
])
def test_bad_settings_are_named(settings, words):
    problems = b.benchmark_problems(settings)
    assert any(words in p for p in problems), problems


def test_good_settings_pass():
    assert b.benchmark_problems({"clients": 8, "seconds": 30, "load_clients": 100, "load_seconds": 300,
                                 "endpoints": ["read_only", "read_write", "primary"], "dimensions": 1536,
                                 "available_endpoints": ["primary", "read_write", "read_only"],
                                 "ef_search": [40, 100, 200], "k": 10}) == []
    with pytest.raises(AnsibleFilterError):
        b.benchmark_problems(["clients", 8])


def _run(name, workload, tps, p50, p95, p99):
    return {"name": name, "endpoint": name + " lb:5000", "workload": workload, "tps": tps, "clients": 8,
            "duration_s": 30, "latency_ms": {"p50": p50, "p95": p95, "p99": p99}}


RESULTS = {
    "runs": [_run("read_only", "read", 12000.0, 0.7, 2.0, 5.0), _run("read_write", "read", 9000.0, 0.8, 2.1, 6.0),
             _run("read_write", "write", 2000.0, 3.0, 60.0, 90.0)],
    "load": dict(_run("read_write", "load", 4000.0, 18.0, 42.0, 250.0), clients=100, failed_transactions=0,
                 aborted_clients=0, errors=[]),
    "samples": [{"t_s": 0, "cl_waiting": 0, "lag_s": 0.0, "blks_hit": 1000, "blks_read": 0},
                {"t_s": 10, "cl_waiting": 12, "lag_s": 0.4, "blks_hit": 1900, "blks_read": 100},
                {"t_s": 20, "cl_waiting": 3, "lag_s": 1.5, "blks_hit": 1900, "blks_read": 100}],
    "shard_skew_pct": None,
}


def _by_target(rows):
    return dict((r["target"], r) for r in rows)


def test_sql_targets_pass_fail_and_na():
    rows = _by_target(b.sql_targets(RESULTS))
    assert rows["read throughput"]["result"] == "PASS" and rows["read throughput"]["measured"] == 12000.0
    assert rows["write throughput"]["result"] == "FAIL"
    assert rows["latency p95, write read_write lb:5000"]["result"] == "FAIL"
    assert rows["latency p99, load read_write lb:5000"]["result"] == "FAIL"
    assert rows["latency p50, read read_only lb:5000"]["result"] == "PASS"
    pool = rows["no pool exhaustion, 100 clients"]
    assert pool["result"] == "PASS" and "max 12 clients waiting" in pool["detail"]
    # the hit ratio is per interval: 900 hits of 1000 block reads in the first, none read in the second
    assert rows["cache hit ratio (lowest sample)"]["measured"] == 90.0
    assert rows["replication lag (highest sample)"]["result"] == "FAIL"
    assert rows["shard skew"]["result"] == "n/a"


def test_targets_can_be_overridden_and_errors_fail_the_pool_row():
    results = dict(RESULTS, shard_skew_pct=25.0, load=dict(RESULTS["load"], aborted_clients=2))
    rows = _by_target(b.sql_targets(results, {"write_ops_s": 1000, "shard_skew_pct": 30}))
    assert rows["write throughput"]["result"] == "PASS" and rows["write throughput"]["goal"] == "> 1000 ops/s"
    assert rows["shard skew"]["result"] == "PASS"
    assert rows["no pool exhaustion, 100 clients"]["result"] == "FAIL"


VECTOR = {"runs": [
    {"scope": "table", "search": "exact", "ef_search": None, "clients": 4, "queries": 100, "qps": 50.0,
     "recall_at_k": 1.0, "k": 10, "errors": 0, "latency_ms": {"p50": 80.0, "p95": 90.0, "p99": 99.0}},
    {"scope": "table", "search": "hnsw", "ef_search": 40, "clients": 4, "queries": 9000, "qps": 900.0,
     "recall_at_k": 0.91, "k": 10, "errors": 0, "latency_ms": {"p50": 4.0, "p95": 7.0, "p99": 9.0}},
    {"scope": "table", "search": "hnsw", "ef_search": 100, "clients": 4, "queries": 6000, "qps": 600.0,
     "recall_at_k": 0.97, "k": 10, "errors": 0, "latency_ms": {"p50": 6.0, "p95": 9.0, "p99": 12.0}}],
    "index": {"size_bytes": 200 * 1024 ** 2}}


def test_vector_targets_judged_at_ef_search_40():
    rows = _by_target(b.vector_targets(VECTOR))
    assert rows["vector search latency p50"]["result"] == "PASS" and rows["vector search latency p50"]["measured"] == 4.0
    assert rows["vector search rate"]["result"] == "FAIL"
    assert "recall@10 0.91" in rows["vector search rate"]["detail"]
    assert rows["HNSW index size"]["result"] == "PASS"
    assert _by_target(b.vector_targets({"runs": []}))["vector search rate"]["result"] == "n/a"


def test_report_structures():
    sql = b.benchmark_report(RESULTS, "sql")
    assert [t["title"] for t in sql["tables"]][0] == "Runs" and len(sql["tables"][0]["rows"]) == 4
    assert sql["charts"][0]["file"] == "latency.png" and len(sql["charts"][0]["categories"]) == 4
    assert [s["label"] for s in sql["charts"][0]["series"]] == ["p50", "p95", "p99"]
    vector = b.benchmark_report(VECTOR, "vector")
    series = vector["charts"][0]["series"]
    assert series[0]["x"] == [0.91, 0.97] and series[0]["labels"] == ["ef_search 40", "ef_search 100"]
    assert series[1]["label"] == "table (exact)" and series[1]["x"] == [1.0]
    with pytest.raises(AnsibleFilterError):
        b.benchmark_report(RESULTS, "tpc")


def test_plan_run_and_sample():
    assert b.benchmark_plan(["read_only", "primary"]) == [["read_only", "read"], ["primary", "read"],
                                                          ["primary", "write"]]
    endpoints = {"primary": {"label": "primary pg1:5432 (direct)"}}
    run = b.benchmark_run({"item": ["primary", "write"], "tps": 10.0, "latency_ms": {"p50": 1.0},
                           "invocation": {"module_args": {"clients": 8, "duration": 30}}}, endpoints)
    assert run["endpoint"] == "primary pg1:5432 (direct)" and run["workload"] == "write" and run["clients"] == 8
    reconnecting = b.benchmark_run({"item": ["primary", "read"], "tps": 115.7, "average_connection_ms": 6.2}, endpoints)
    assert reconnecting["average_connection_ms"] == 6.2
    load = b.benchmark_run({"tps": 5.0}, endpoints, "primary", "load", 100, 300)
    assert load["clients"] == 100 and load["duration_s"] == 300 and load["latency_ms"] == {}
    pools = [{"database": "app", "user": "a", "cl_active": 20, "cl_waiting": 5, "sv_active": 20, "sv_idle": 0,
              "maxwait": 1, "maxwait_us": 250000},
             {"database": "app", "user": "b", "cl_active": 1, "cl_waiting": 0, "sv_active": 1, "sv_idle": 2,
              "maxwait": 0, "maxwait_us": 0},
             {"database": "pgbouncer", "user": "pgbouncer", "cl_active": 1, "cl_waiting": 0, "sv_active": 0,
              "sv_idle": 0, "maxwait": 0, "maxwait_us": 0}]
    sample = b.benchmark_sample(pools, {"lag_s": 0.0123, "replicas": 2, "blks_hit": 10, "blks_read": 1}, "app", 10)
    assert sample == dict(t_s=10, cl_active=21, cl_waiting=5, sv_active=21, sv_idle=2, maxwait_s=1.25,
                          lag_s=0.012, replicas=2, blks_hit=10, blks_read=1)
    assert b.benchmark_cells({"a": 1, "b": 2}, ["b", "a", "c"]) == [2, 1, None]
