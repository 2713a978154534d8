"""_bench: percentiles by nearest rank, recall@k, and reading pgbench's summary, progress and logs."""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils import _bench

PGBENCH_STDOUT = """pgbench (17.11 (Debian 17.11-0+deb13u1))
transaction type: <builtin: select only>
scaling factor: 10
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 30 s
number of transactions actually processed: 240123
number of failed transactions: 0 (0.000%)
latency average = 0.998 ms
initial connection time = 21.517 ms
tps = 8004.100000 (without initial connection time)
"""
PGBENCH_STDERR = """progress: 5.0 s, 7900.2 tps, lat 1.010 ms stddev 0.410, 0 failed
progress: 10.0 s, 8101.0 tps, lat 0.987 ms stddev 0.397, 0 failed
progress: 15.0 s, 0.0 tps, lat 0.000 ms stddev 0.000, 0 failed
pgbench: error: client 3 aborted in command 1 (SQL) of script 0; perhaps the backend died while processing
pgbench: error: client 5 script 0 aborted in command 1 query 0: ERROR:  relation "pgbench_accounts" does not exist
"""


def test_percentile_is_a_sample_at_the_nearest_rank():
    values = list(range(1, 101))  # 1..100
    assert _bench.percentile(values, 50) == 50
    assert _bench.percentile(values, 95) == 95
    assert _bench.percentile(values, 99) == 99
    assert _bench.percentile(values, 100) == 100
    assert _bench.percentile([7.0], 99) == 7.0
    # rank ceil(0.5 * 3) = 2: the middle one, never an interpolation
    assert _bench.percentile([1.0, 2.0, 10.0], 50) == 2.0


@pytest.mark.parametrize("values,p", [([], 50), ([1], 0), ([1], 101)])
def test_percentile_refuses_nonsense(values, p):
    with pytest.raises(ValueError):
        _bench.percentile(values, p)


def test_latency_summary_is_ordered_and_empty_is_none():
    summary = _bench.latency_summary([5.0, 1.0, 3.0, 2.0, 4.0, 100.0])
    assert summary["count"] == 6 and summary["max"] == 100.0
    assert summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"]
    assert summary["p50"] == 3.0 and summary["p99"] == 100.0
    assert _bench.latency_summary([]) == dict(count=0, mean=None, p50=None, p95=None, p99=None, max=None)


def test_recall_at_k():
    assert _bench.recall_at_k([1, 2, 3], [1, 2, 3], 3) == 1.0
    assert _bench.recall_at_k([1, 9, 8, 2], [1, 2, 3, 4], 4) == 0.5
    # only the first k of each count
    assert _bench.recall_at_k([5, 1], [1, 5], 1) == 0.0
    # fewer true neighbours than k (a user with 3 vectors): judged on those
    assert _bench.recall_at_k([1, 2, 3], [1, 2, 3], 10) == 1.0
    assert _bench.recall_at_k([], [], 10) == 1.0


def test_parse_pgbench_output():
    figures = _bench.parse_pgbench_output(PGBENCH_STDOUT, PGBENCH_STDERR)
    assert figures["tps"] == 8004.1 and figures["transactions"] == 240123
    assert figures["failed_transactions"] == 0 and figures["clients"] == 8 and figures["duration_s"] == 30
    assert figures["latency_average_ms"] == 0.998 and figures["initial_connection_ms"] == 21.517
    assert figures["progress"][0] == dict(t_s=5.0, tps=7900.2, latency_ms=1.01)
    assert figures["progress"][2]["latency_ms"] is None
    assert figures["aborted_clients"] == 2
    assert len(figures["errors"]) == 2 and "client 3 aborted" in figures["errors"][0]


def test_parse_a_reconnecting_run():
    stdout = PGBENCH_STDOUT.replace("initial connection time = 21.517 ms\ntps = 8004.100000 (without initial connection time)",
                                    "average connection time = 6.217 ms\ntps = 151.300000 (including reconnection times)")
    figures = _bench.parse_pgbench_output(stdout, "")
    assert figures["tps"] == 151.3 and figures["average_connection_ms"] == 6.217
    assert figures["initial_connection_ms"] is None and figures["aborted_clients"] == 0


def test_parse_a_failed_start():
    figures = _bench.parse_pgbench_output("", 'pgbench: error: connection to server at "10.0.0.1", port 5000 '
                                              'failed: FATAL:  password authentication failed for user "app"\n')
    assert figures["tps"] is None and figures["transactions"] is None
    assert "password authentication failed" in figures["errors"][0]


def test_read_pgbench_logs(tmp_path):
    (tmp_path / "dpg-pgbench.4242").write_text("0 1 1200 0 1700000000 100\n1 1 800 0 1700000000 200\n"
                                               "0 2 failed 0 1700000000 300\n")
    (tmp_path / "dpg-pgbench.4242.1").write_text("2 1 2500 0 1700000000 400\n\n")
    (tmp_path / "other.1").write_text("0 1 999999 0 0 0\n")
    latencies, failed = _bench.read_pgbench_logs(str(tmp_path), "dpg-pgbench")
    assert sorted(latencies) == [0.8, 1.2, 2.5] and failed == 1
