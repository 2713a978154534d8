"""Benchmark playbooks and pgvector_index on the backup_monitoring scenario's cluster (after test_1_monitoring.py).

Benchmarks report numbers; these tests check behaviour: bad settings fail before any load reaches the
cluster; a short run of playbooks/ops/benchmark.yml and benchmark_vector.yml (as the application role,
through the balancer, verify-full) writes JSON with every field present and sane, the Markdown targets
table and PNG charts; a re-run keeps the vector data set and its index. pgvector_index is run as the
operator runs it: check mode changes nothing, apply builds, a re-run changes nothing, a new setting
re-builds, hnsw.ef_search reaches new sessions.
"""

import json
import os
import re
import sys

import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
import appsql  # noqa: E402  pylint: disable=wrong-import-position
from adhoc import module, playbook, why  # noqa: E402  pylint: disable=wrong-import-position
from drill import report  # noqa: E402  pylint: disable=wrong-import-position

LAB_DIR = os.environ["DPG_LAB_DIR"]
REPORTS = os.path.join(LAB_DIR, "reports")
NODES = os.environ.get("DPG_PG_NODES", "mol-bk-pg1,mol-bk-pg2,mol-bk-pg3").split(",")
RW_PORT = int(os.environ.get("DPG_RW_PORT", "35000"))
SOCKET = {"login_unix_socket": "/var/run/postgresql", "login_db": "dpg"}
VECTOR_ARGS = ["-e", "benchmark_vector_count=3000", "-e", "benchmark_vector_dimensions=32",
               "-e", "benchmark_vector_users=100", "-e", "benchmark_vector_clusters=20",
               "-e", "benchmark_vector_queries=20", "-e", "benchmark_vector_seconds=2",
               "-e", '{"benchmark_vector_ef_search": [10, 40]}']
SQL_ARGS = ["-e", "benchmark_seconds=3", "-e", "benchmark_scale=1", "-e", "benchmark_load_clients=20",
            "-e", "benchmark_load_seconds=10", "-e", "benchmark_sample_seconds=5"]


def _sql(statement, args=None):
    """As the application role through the balancer's read-write port, verify-full."""
    return appsql.sql(RW_PORT, statement, args)


def _leader():
    host = testinfra.get_host("docker://" + NODES[0])
    members = json.loads(host.check_output("patronictl -c /etc/patroni/config.yml list -f json"))
    return next(m["Member"] for m in members if m["Role"] == "Leader")


def _leader_sql(statement):
    """A new session on the leader over its socket (no pooler: a fresh backend reads database settings)."""
    host = testinfra.get_host("docker://" + _leader())
    return host.check_output("psql -X -At -U postgres -d dpg -c %s" % _quote(statement))


def _ef_search():
    """hnsw.ef_search in a new session (pgvector's library loaded by a vector literal, so the value is typed)."""
    host = testinfra.get_host("docker://" + _leader())
    return host.check_output("psql -X -At -U postgres -d dpg -c %s -c %s"
                             % (_quote("SELECT '[1]'::vector"), _quote("SHOW hnsw.ef_search"))).splitlines()[-1]


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def _unfold(out):
    return re.sub(r"\n\s+", " ", out)


def test_bad_settings_fail_before_any_load():
    cases = [("playbooks/ops/benchmark.yml", ["-e", "benchmark_load_clients=0"], "load_clients must be 1 to 1000, not 0"),
             ("playbooks/ops/benchmark.yml", ["-e", "benchmark_seconds=-5"], "seconds must be 1 to 3600, not -5"),
             ("playbooks/ops/benchmark.yml", ["-e", '{"benchmark_endpoints": ["read_only", "nowhere"]}'],
              "unknown endpoint(s) nowhere"),
             ("playbooks/ops/benchmark_vector.yml", ["-e", "benchmark_vector_dimensions=2001"],
              "dimensions must be 1 to 2000 (pgvector indexes at most 2000 dimensions)"),
             ("playbooks/ops/benchmark_vector.yml", ["-e", "benchmark_vector_clients=0"],
              "vector_clients must be 1 to 256, not 0")]
    for path, extra, words in cases:
        rc, changed, out = playbook(path, *extra)
        flat = _unfold(out)
        assert rc != 0 and words in flat and "Nothing was sent" in flat, (extra, why(out))
        assert changed == 0, (extra, why(out))
    # nothing reached the database: neither the pgbench tables nor the vector schema exist
    assert _sql("SELECT to_regclass('public.pgbench_accounts'), to_regnamespace('dpg_bench')") == [(None, None)]


def _check_run(run):
    lat = run["latency_ms"]
    assert run["queries"] > 0 and run["qps"] > 0 and run["errors"] == 0, run
    assert 0 <= run["recall_at_k"] <= 1, run
    assert lat["count"] == run["queries"] and lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], run


def test_vector_benchmark_short_run_writes_the_report():
    rc, _changed, out = playbook("playbooks/ops/benchmark_vector.yml", *VECTOR_ARGS)
    assert rc == 0, why(out)
    with open(os.path.join(REPORTS, "vector.json")) as f:
        data = json.load(f)
    results = data["results"]
    assert results["settings"]["vectors"] == 3000 and results["settings"]["dimensions"] == 32
    assert results["versions"]["pgvector"].startswith("0.8") and results["versions"]["postgresql"].startswith("17")
    assert results["load"]["rows"] == 3000 and results["load"]["table_bytes"] > 0
    index = results["index"]
    assert index["built"] and index["build_seconds"] > 0 and index["size_bytes"] > 0
    assert "USING hnsw (embedding vector_cosine_ops)" in index["definition"]
    runs = results["runs"]
    assert [(r["scope"], r["search"], r["ef_search"]) for r in runs] == [
        ("table", "exact", None), ("table", "hnsw", 10), ("table", "hnsw", 40),
        ("user", "exact", None), ("user", "hnsw", 10), ("user", "hnsw", 40)]
    for run in runs:
        _check_run(run)
        if run["search"] == "exact":
            assert run["recall_at_k"] == 1.0 and "hnsw" not in run["access"], run
    hnsw = [r for r in runs if r["scope"] == "table" and r["search"] == "hnsw"]
    assert any("vector_idx" in r["access"] for r in hnsw), [r["access"] for r in hnsw]
    assert {t["result"] for t in data["targets"]} <= {"PASS", "FAIL", "n/a"} and len(data["targets"]) == 3
    with open(os.path.join(REPORTS, "vector.md")) as f:
        text = f.read()
    assert "## Targets" in text and "| vector search latency p50 | < 5 ms |" in text and "| table | hnsw | 40 |" in text
    with open(os.path.join(REPORTS, "vector-recall_latency.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    lines = []
    for r in runs:
        setting = r["search"] if r["ef_search"] is None else "hnsw ef %d" % r["ef_search"]
        lines.append("%s %s recall %.3f p50 %.2f ms %.0f q/s" % (r["scope"], setting, r["recall_at_k"],
                                                                 r["latency_ms"]["p50"], r["qps"]))
    report("VECTOR short run (3000 x 32, 2 s per setting): " + "; ".join(lines))


def test_vector_benchmark_rerun_keeps_the_data_set_and_index():
    rc, _changed, out = playbook("playbooks/ops/benchmark_vector.yml", *VECTOR_ARGS)
    assert rc == 0, why(out)
    with open(os.path.join(REPORTS, "vector.json")) as f:
        results = json.load(f)["results"]
    assert results["load"]["changed"] is False and results["load"]["load_seconds"] == 0.0
    assert results["index"]["built"] is False and results["index"]["size_bytes"] > 0


def test_pgvector_index_check_apply_rerun():
    leader = _leader()
    args = dict(SOCKET, table="dpg_bench.user_embeddings", column="embedding", m=8, ef_construction=32,
                maintenance_work_mem="64MB")
    before = _leader_sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'user_embeddings_embedding_vector_idx'")
    assert "m='16'" in before, before
    res = module(leader, "dpg.cluster.pgvector_index", args, check=True, diff=True)
    assert res["changed"] and not res["built"] and "DROP INDEX" in " ".join(res["queries"]), res
    assert _leader_sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'user_embeddings_embedding_vector_idx'") == before
    res = module(leader, "dpg.cluster.pgvector_index", args, diff=True)
    assert res["changed"] and res["built"] and "m='8'" in res["definition"], res
    assert res["diff"]["before"]["definition"] == before
    assert "SET LOCAL maintenance_work_mem = '64MB'" in res["queries"]
    res = module(leader, "dpg.cluster.pgvector_index", args)
    assert not res["changed"] and not res["built"], res
    # a concurrent re-build: a new index under a temporary name, the old one dropped, the name kept
    res = module(leader, "dpg.cluster.pgvector_index", dict(args, m=12, ef_construction=40, concurrently=True))
    assert res["changed"] and res["built"] and "m='12'" in res["definition"], res
    assert "CREATE INDEX CONCURRENTLY" in " ".join(res["queries"]), res["queries"]
    assert _leader_sql("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                       "WHERE tablename = 'user_embeddings' AND indexdef LIKE '%USING hnsw%'") == \
        "user_embeddings_embedding_vector_idx"
    assert not module(leader, "dpg.cluster.pgvector_index", dict(args, m=12, ef_construction=40))["changed"]
    # hnsw.ef_search for the database: check mode, apply, re-run; a new session has it
    res = module(leader, "dpg.cluster.pgvector_index", dict(SOCKET, ef_search=64), check=True)
    assert res["changed"] and _ef_search() == "40"
    res = module(leader, "dpg.cluster.pgvector_index", dict(SOCKET, ef_search=64), diff=True)
    assert res["changed"] and res["diff"] == {"before": {"ef_search": None}, "after": {"ef_search": 64}}, res
    assert _ef_search() == "64"
    assert not module(leader, "dpg.cluster.pgvector_index", dict(SOCKET, ef_search=64))["changed"]
    # and for one role in the database
    res = module(leader, "dpg.cluster.pgvector_index", dict(SOCKET, ef_search=120, ef_search_role="dpg_readonly"))
    assert res["changed"]
    assert _leader_sql("SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                       "WHERE r.rolname = 'dpg_readonly'") == "{hnsw.ef_search=120}"
    res = module(leader, "dpg.cluster.pgvector_index", dict(SOCKET, ef_search=120, ef_search_role="nobody"))
    assert res.get("failed") and "role nobody does not exist" in res["msg"], res
    res = module(leader, "dpg.cluster.pgvector_index", dict(SOCKET, table="dpg_bench.users", column="name"))
    assert res.get("failed") and "is text, not vector" in res["msg"], res


def test_vector_yml_from_the_inventory():
    """playbooks/vector.yml as site.yml runs it: an IVFFlat index and ef_search from the inventory, then a re-run."""
    extra = ["-e", json.dumps({
        "dpg_vector_indexes": [{"database": "dpg", "table": "dpg_bench.user_embeddings", "column": "embedding",
                                "name": "embeddings_ivfflat_ip", "method": "ivfflat", "opclass": "vector_ip_ops",
                                "lists": 10, "maintenance_work_mem": "32MB"}],
        "dpg_vector_ef_search": [{"database": "dpg", "value": 50}]})]
    rc, changed, out = playbook("playbooks/vector.yml", *extra)
    assert rc == 0 and changed == 2, why(out)
    assert "USING ivfflat (embedding vector_ip_ops) WITH (lists='10')" in _leader_sql(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_ivfflat_ip'")
    assert _ef_search() == "50"
    rc, changed, out = playbook("playbooks/vector.yml", *extra)
    assert rc == 0 and changed == 0, why(out)
    rc, changed, out = playbook("playbooks/vector.yml", "-e", json.dumps({"dpg_vector_indexes": [
        {"database": "dpg", "table": "dpg_bench.user_embeddings", "column": "embedding",
         "name": "embeddings_ivfflat_ip", "state": "absent"}]}))
    assert rc == 0 and changed == 1, why(out)
    assert _leader_sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'embeddings_ivfflat_ip'") == "0"


def test_benchmark_short_run_writes_the_report():
    rc, _changed, out = playbook("playbooks/ops/benchmark.yml", *SQL_ARGS)
    assert rc == 0, why(out)
    assert re.search(r"\d+(\.\d+)? s of 10: PgBouncer \d+ clients active", _unfold(out)), why(out)
    with open(os.path.join(REPORTS, "benchmark.json")) as f:
        data = json.load(f)
    results = data["results"]
    assert [(r["name"], r["workload"]) for r in results["runs"]] == [
        ("read_only", "read"), ("read_write", "read"), ("read_write", "write"), ("primary", "read"),
        ("primary", "write")]
    for run in results["runs"] + [results["load"]]:
        lat = run["latency_ms"]
        assert run["tps"] > 0 and run["transactions"] > 0 and run["aborted_clients"] == 0, run
        assert lat["count"] > 0 and lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], run
    assert results["load"]["clients"] == 20 and results["load"]["duration_s"] == 10
    samples = results["samples"]
    assert len(samples) >= 3 and samples[0]["t_s"] == 0 and all(s["replicas"] >= 1 for s in samples), samples
    assert max(s["cl_active"] + s["cl_waiting"] for s in samples) > 0, samples
    targets = dict((t["target"], t) for t in data["targets"])
    assert targets["shard skew"]["result"] == "n/a"
    assert targets["no pool exhaustion, 20 clients"]["result"] == "PASS"
    assert {t["result"] for t in data["targets"]} <= {"PASS", "FAIL", "n/a"}
    with open(os.path.join(REPORTS, "benchmark.md")) as f:
        text = f.read()
    assert "## Targets" in text and "| read throughput | > 10000 ops/s |" in text and "## Load test" in text
    with open(os.path.join(REPORTS, "benchmark-latency.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(REPORTS, "top_statements.md")) as f:
        assert "pgbench_accounts" in f.read()
    report("BENCHMARK short run: " + "; ".join("%s %s %.0f ops/s p95 %.2f ms" % (
        r["workload"], r["endpoint"], r["tps"], r["latency_ms"]["p95"]) for r in results["runs"] + [results["load"]]))
