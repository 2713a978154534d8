"""pgbench (with a stand-in pgbench binary), benchmark_report (files written), and the settings checks of
pgvector_index and vector_benchmark, which refuse bad input before connecting."""

import json
import os
import stat

from ansible_collections.dpg.cluster.plugins.modules import (
    benchmark_report, pgbench, pgvector_index, vector_benchmark)

from tests.unit.helpers import run_module

# A stand-in pgbench: records its argv, the pgpass file it was given and its environment's libpq
# settings, writes a per-transaction log where -l --log-prefix asks, prints a PostgreSQL 17 summary.
FAKE_PGBENCH = r"""#!/usr/bin/env python3
import json, os, sys
argv = sys.argv[1:]
record = {"argv": argv, "PGSSLMODE": os.environ.get("PGSSLMODE"), "PGSSLROOTCERT": os.environ.get("PGSSLROOTCERT"),
          "PGSSLCERT": os.environ.get("PGSSLCERT"), "PGSSLKEY": os.environ.get("PGSSLKEY"),
          "pgpass": open(os.environ["PGPASSFILE"]).read() if os.environ.get("PGPASSFILE") else None,
          "pgpass_mode": oct(os.stat(os.environ["PGPASSFILE"]).st_mode & 0o777) if os.environ.get("PGPASSFILE") else None,
          "scripts": [open(a.split("@")[0]).read() for i, a in enumerate(argv) if i and argv[i - 1] == "-f"]}
open(os.environ["FAKE_RECORD"], "w").write(json.dumps(record))
if os.environ.get("FAKE_FAIL"):
    sys.stderr.write('pgbench: error: connection to server at "lb1", port 5000 failed: FATAL:  password authentication failed\n')
    sys.exit(1)
if "-i" in argv:
    sys.exit(0)
prefix = argv[argv.index("--log-prefix") + 1]
with open(prefix + ".123", "w") as f:
    for n, us in enumerate([1000, 2000, 3000, 4000, 100000]):
        f.write("0 %d %d 0 1700000000 0\n" % (n, us))
    f.write("0 9 failed 0 1700000000 0\n")
sys.stderr.write("progress: 5.0 s, 100.0 tps, lat 2.000 ms stddev 1.000, 0 failed\n")
if os.environ.get("FAKE_ABORT"):
    sys.stderr.write("pgbench: error: client 1 script 0 aborted in command 0 query 0: ERROR:  no such table\n")
connection = ("average connection time = 5.000 ms\ntps = 100.000000 (including reconnection times)" if "-C" in argv
              else "initial connection time = 5.000 ms\ntps = 100.000000 (without initial connection time)")
print("number of clients: 4\nduration: 5 s\nnumber of transactions actually processed: 500\n"
      "number of failed transactions: 0 (0.000%)\nlatency average = 2.000 ms\n" + connection)
sys.exit(2 if os.environ.get("FAKE_ABORT") else 0)
"""


def _fake(tmp_path, monkeypatch, fail=False):
    binary = tmp_path / "pgbench"
    binary.write_text(FAKE_PGBENCH)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FAKE_RECORD", str(tmp_path / "record.json"))
    if fail:
        monkeypatch.setenv("FAKE_FAIL", "1")
    return str(binary)


BASE = dict(login_host="lb1", login_port=5000, login_user="app", login_password="s3:cr\\et", login_db="app",
            ssl_mode="verify-full", ca_cert="/etc/patroni/tls/ca.crt", clients=4, duration=5)


def test_pgbench_run_figures_and_secret_handling(tmp_path, monkeypatch):
    binary = _fake(tmp_path, monkeypatch)
    res, failed = run_module(pgbench.main, dict(BASE, pgbench_path=binary, script="SELECT 1;"))
    assert not failed, res
    record = json.loads((tmp_path / "record.json").read_text())
    # the password is only in the pgpass file (mode 0600), escaped as libpq reads it
    assert record["pgpass"] == "*:*:*:app:s3\\:cr\\\\et\n" and record["pgpass_mode"] == "0o600"
    assert all("s3" not in a for a in record["argv"]) and "s3" not in " ".join(res["command"])
    assert record["PGSSLMODE"] == "verify-full" and record["PGSSLROOTCERT"] == "/etc/patroni/tls/ca.crt"
    assert record["scripts"] == ["SELECT 1;"] and "-b" not in record["argv"]
    assert res["tps"] == 100.0 and res["transactions"] == 500 and res["changed"] is True
    # the percentiles come from the log: 1, 2, 3, 4, 100 ms; the failed line is counted
    assert res["latency_ms"]["p50"] == 3.0 and res["latency_ms"]["p99"] == 100.0 and res["latency_ms"]["count"] == 5
    assert res["failed_transactions"] == 1 and res["progress"][0]["tps"] == 100.0
    # the private directory (logs, script, pgpass) is gone
    assert not os.path.exists(os.path.dirname(res["command"][res["command"].index("--log-prefix") + 1]))


def test_pgbench_mix_and_builtin(tmp_path, monkeypatch):
    binary = _fake(tmp_path, monkeypatch)
    res, failed = run_module(pgbench.main, dict(BASE, pgbench_path=binary, mix=[
        {"builtin": "select-only", "weight": 9}, {"script": "UPDATE t SET a = 1;", "weight": 1}]))
    assert not failed, res
    record = json.loads((tmp_path / "record.json").read_text())
    assert "select-only@9" in record["argv"] and record["scripts"] == ["UPDATE t SET a = 1;"]
    res, failed = run_module(pgbench.main, dict(BASE, pgbench_path=binary, builtin="select-only", reconnect=True,
                                                ssl_cert="/etc/dpg/tls/client.crt", ssl_key="/etc/dpg/tls/client.key"))
    assert not failed and res["changed"] is False and "-C" in res["command"], res
    assert res["tps"] == 100.0 and res["average_connection_ms"] == 5.0 and res["initial_connection_ms"] is None
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["PGSSLCERT"] == "/etc/dpg/tls/client.crt" and record["PGSSLKEY"] == "/etc/dpg/tls/client.key"


def test_pgbench_aborted_clients_are_a_result_with_a_warning(tmp_path, monkeypatch):
    binary = _fake(tmp_path, monkeypatch)
    monkeypatch.setenv("FAKE_ABORT", "1")
    res, failed = run_module(pgbench.main, dict(BASE, pgbench_path=binary))
    assert not failed and res["rc"] == 2 and res["aborted_clients"] == 1, res
    assert "pgbench aborted 1 client(s) against app@lb1:5000/app (rc 2)" in res["msg"] and "no such table" in res["msg"]


def test_pgbench_check_mode_runs_nothing(tmp_path, monkeypatch):
    binary = _fake(tmp_path, monkeypatch)
    res, failed = run_module(pgbench.main, dict(BASE, pgbench_path=binary, initialize=True), check_mode=True)
    assert not failed and res["changed"] is True and not (tmp_path / "record.json").exists()


def test_pgbench_failed_start_and_bad_input(tmp_path, monkeypatch):
    binary = _fake(tmp_path, monkeypatch, fail=True)
    res, failed = run_module(pgbench.main, dict(BASE, pgbench_path=binary))
    assert failed and "could not run against app@lb1:5000/app (rc 1)" in res["msg"]
    assert "password authentication failed" in res["msg"] and "Traceback" not in res["msg"]
    for bad, words in ((dict(clients=0), "clients must be 1 to 1000"), (dict(duration=-1), "duration must be 1"),
                       (dict(threads=9), "threads must be 1 to clients"), (dict(sampling_rate=0.0), "sampling_rate"),
                       (dict(login_host=None), "login_host is required"),
                       (dict(login_unix_socket="/var/run/postgresql"), "login_unix_socket is not used"),
                       (dict(mix=[{"builtin": "select-only", "script": "x"}]), "exactly one of builtin and script"),
                       (dict(pgbench_path="/nonexistent/pgbench"), "is not an executable pgbench")):
        res, failed = run_module(pgbench.main, dict(BASE, **bad))
        assert failed and words in res["msg"], (bad, res["msg"])


REPORT = dict(name="bench", title="Bench",
              results={"started": "now", "versions": {"postgresql": "17"}, "settings": {"clients": 4}},
              targets=[{"target": "read throughput", "goal": "> 10 ops/s", "measured": 12.5, "unit": "ops/s",
                        "result": "PASS", "detail": "a|b"},
                       {"target": "shard skew", "goal": "< 20 %", "measured": None, "unit": "%", "result": "n/a"}],
              tables=[{"title": "Runs", "columns": ["endpoint", "ops/s"], "rows": [["lb:5000", 12.5]]}],
              charts=[{"file": "latency.png", "kind": "bars", "title": "t", "x_label": "x", "y_label": "ms",
                       "categories": ["a", "b"], "series": [{"label": "p50", "y": [1.0, 2.0]}]},
                      {"file": "recall.png", "kind": "lines", "title": "t", "x_label": "recall", "y_label": "ms",
                       "series": [{"label": "table", "x": [0.9, 0.95], "y": [2.0, 3.0], "labels": ["40", "100"]}]}])


def test_report_writes_json_markdown_and_png(tmp_path):
    res, failed = run_module(benchmark_report.main, dict(REPORT, dest=str(tmp_path / "reports")))
    assert not failed, res
    assert sorted(os.listdir(tmp_path / "reports")) == ["bench-latency.png", "bench-recall.png", "bench.json", "bench.md"]
    for png in ("bench-latency.png", "bench-recall.png"):
        assert (tmp_path / "reports" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "reports" / "bench.json").read_text())
    assert data["results"]["settings"] == {"clients": 4} and data["targets"][0]["result"] == "PASS"
    text = (tmp_path / "reports" / "bench.md").read_text()
    assert "| read throughput | > 10 ops/s | 12.5 ops/s | PASS | a\\|b |" in text
    assert "| shard skew | < 20 % | - | n/a | - |" in text and "| lb:5000 | 12.5 |" in text
    assert res["passed"] == {"PASS": 1, "n/a": 1}


def test_report_check_mode_and_bad_names(tmp_path):
    res, failed = run_module(benchmark_report.main, dict(REPORT, dest=str(tmp_path / "r")), check_mode=True)
    assert not failed and res["changed"] and not (tmp_path / "r").exists()
    res, failed = run_module(benchmark_report.main, dict(REPORT, dest=str(tmp_path), name="../x"))
    assert failed and "plain file name" in res["msg"]
    res, failed = run_module(benchmark_report.main, dict(REPORT, dest=str(tmp_path), charts=[{"file": "a.svg"}]))
    assert failed and "ending in .png" in res["msg"]


def test_vector_modules_refuse_bad_settings_before_connecting():
    for args, words in ((dict(operation="load", dimensions=2001), "dimensions must be 1 to 2000"),
                        (dict(operation="measure", ef_search=[5], k=10), "each ef_search must be k (10) to 1000"),
                        (dict(operation="measure", clients=0), "clients must be 1 to 256"),
                        (dict(operation="measure", duration=-3), "duration must be 1 to 600"),
                        (dict(operation="load", users=0), "users must be 1 to vectors")):
        res, failed = run_module(vector_benchmark.main, dict(login_host="nowhere.invalid", **args))
        assert failed and "no load was sent" in res["msg"] and words in res["msg"], res["msg"]
        assert res["queries"] == []
    for args, words in ((dict(m=1), "m must be 2 to 100"), (dict(m=16, ef_construction=20), "at least 2 * m (32)"),
                        (dict(method="ivfflat", lists=0), "lists must be 1 to 32768"),
                        (dict(ef_search=0), "ef_search must be 1 to 1000")):
        res, failed = run_module(pgvector_index.main, dict(login_host="nowhere.invalid", table="t", column="c", **args))
        assert failed and words in res["msg"] and res["queries"] == [], res["msg"]
    res, failed = run_module(pgvector_index.main, dict(login_host="nowhere.invalid", table="t"))
    assert failed and "column" in res["msg"]


def test_pgvector_index_names_and_options():
    assert pgvector_index.default_name("app.user_embeddings", "embedding") == "user_embeddings_embedding_vector_idx"
    assert len(pgvector_index.default_name("t" * 80, "c").encode()) == 63
    assert len(pgvector_index.temporary_name("x" * 63).encode()) == 62
    assert pgvector_index.temporary_name("idx") == "idx_dpg_new"
    assert pgvector_index.split_table("t") == ("public", "t")
    assert pgvector_index.wanted_options(dict(method="hnsw", m=16, ef_construction=64, lists=100)) == {
        "m": "16", "ef_construction": "64"}
    assert pgvector_index.wanted_options(dict(method="ivfflat", m=16, ef_construction=64, lists=7)) == {"lists": "7"}


def test_plan_access_reads_the_shard_plan_on_citus():
    citus = ["Custom Scan (Citus Adaptive)", "  Task Count: 32", "  Tasks Shown: One of 32", "  ->  Task",
             "        Node: host=w1a port=5432 dbname=dpg", "        ->  Limit",
             "              ->  Index Scan using user_embeddings_embedding_vector_idx_102008 on user_embeddings_102008 "
             "user_embeddings", "                    Order By: (embedding <=> '[...]'::vector)"]
    assert vector_benchmark.plan_access(citus).startswith("Index Scan using user_embeddings_embedding_vector_idx_102008")
    assert vector_benchmark.plan_access(["Limit", "  ->  Sort", "        ->  Seq Scan on user_embeddings"]) == \
        "Seq Scan on user_embeddings"
    assert vector_benchmark.plan_access(["Result"]) == "unknown"


def test_ef_search_statements_per_cluster_kind():
    assert vector_benchmark.setting_statements(None, True) == ([], [])
    assert vector_benchmark.setting_statements(40, False) == (["SET LOCAL hnsw.ef_search = 40; "], [])
    before, after = vector_benchmark.setting_statements(100, True)
    assert before == ["BEGIN", "SET LOCAL citus.propagate_set_commands = 'local'", "SET LOCAL hnsw.ef_search = 100"]
    assert after == ["COMMIT"]
