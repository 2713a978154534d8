"""The Grafana dashboards of roles/grafana: structure, variables, datasources and metric names.

Whether each query returns data is the molecule backup_monitoring scenario's job (a live Prometheus);
here every metric name a query uses must be one the collection's exporters serve, as fixed by
the monitoring contract (copied below: the contract itself is not in the repository).
"""

import json
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARDS_DIR = os.path.join(ROOT, "roles", "grafana", "files", "dashboards")

# The metric names of the monitoring contract (scrape jobs, exporters and the collection's own
# postgres_exporter queries and node_exporter textfile).
ALLOWED_METRICS = frozenset({
    "up",
    # Patroni
    "patroni_primary", "patroni_replica", "patroni_sync_standby", "patroni_postgres_streaming",
    "patroni_postgres_running", "patroni_xlog_location", "patroni_xlog_replayed_location",
    "patroni_xlog_received_location", "patroni_postgres_timeline", "patroni_pending_restart",
    "patroni_is_paused", "patroni_cluster_unlocked", "patroni_dcs_last_seen",
    # etcd
    "etcd_server_has_leader", "etcd_server_leader_changes_seen_total", "etcd_server_proposals_failed_total",
    "etcd_disk_wal_fsync_duration_seconds_bucket", "etcd_mvcc_db_total_size_in_bytes",
    # postgres_exporter
    "pg_up", "pg_stat_database_blks_hit", "pg_stat_database_blks_read", "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback", "pg_stat_database_tup_fetched", "pg_stat_database_deadlocks",
    "pg_stat_activity_count", "pg_settings_max_connections", "pg_replication_lag_seconds",
    "pg_database_size_bytes", "pg_stat_statements_calls_total", "pg_stat_statements_seconds_total",
    "pg_stat_statements_rows_total",
    # the collection's postgres_exporter queries
    "pg_archiver_archived_count", "pg_archiver_failed_count", "pg_archiver_failing",
    "pg_archiver_last_archive_age_seconds",
    "citus_nodes_active", "citus_nodes_total", "citus_shard_placements_count", "citus_local_shards_bytes", "citus_local_shards_count",
    "citus_shard_skew_percent", "citus_tables_distributed", "citus_tables_reference",
    "citus_rebalance_jobs_running",
    # pgbouncer_exporter
    "pgbouncer_up", "pgbouncer_pools_client_active_connections", "pgbouncer_pools_client_waiting_connections",
    "pgbouncer_pools_server_active_connections", "pgbouncer_pools_server_idle_connections",
    "pgbouncer_pools_server_used_connections", "pgbouncer_pools_client_maxwait_seconds",
    "pgbouncer_databases_pool_size", "pgbouncer_databases_current_connections",
    "pgbouncer_stats_queries_pooled_total", "pgbouncer_stats_queries_duration_seconds_total",
    "pgbouncer_stats_sql_transactions_pooled_total",
    # pgbackrest_exporter
    "pgbackrest_backup_since_last_completion_seconds", "pgbackrest_backup_last_duration_seconds",
    "pgbackrest_backup_last_size_bytes", "pgbackrest_backup_last_repo_size_bytes", "pgbackrest_stanza_status",
    "pgbackrest_repo_status", "pgbackrest_exporter_status",
    # node_exporter (+ the collection's textfile)
    "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_load1",
    "node_network_receive_bytes_total", "dpg_tls_certificate_not_after_timestamp_seconds",
    # HAProxy
    "haproxy_backend_active_servers", "haproxy_server_status", "haproxy_frontend_current_sessions",
    "haproxy_backend_current_sessions",
})

# PromQL words that look like metric names: aggregation operators, keywords, and the functions
# (a name followed by "(" is a function call anyway).
PROMQL_WORDS = frozenset({
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "group", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "atan2", "inf", "nan",
})
GRAFANA_BUILTINS = frozenset({
    "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
})
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?!\s*\()(?=\s*[{\[),]|\s|$)")


def metric_names(expr):
    """Metric names an expression selects (strings, matchers, ranges and groupings removed)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    text = _GROUPING.sub(r"\1", text)
    text = _VARIABLE.sub("", text)
    return {n for n in _NAME.findall(text) if n.lower() not in PROMQL_WORDS}


def variables_used(text):
    return {a or b for a, b in _VARIABLE.findall(text)}


def load_index():
    with open(os.path.join(DASHBOARDS_DIR, "index.yml")) as f:
        return yaml.safe_load(f)


def iter_panels(panels):
    for panel in panels or []:
        yield panel
        yield from iter_panels(panel.get("panels"))


def load(name):
    with open(os.path.join(DASHBOARDS_DIR, name)) as f:
        return json.load(f)


INDEX = load_index()
FILES = [entry["file"] for entry in INDEX]


def test_metric_names_parser():
    expr = ('sum by (cluster, citus_group) (rate(pg_stat_database_xact_commit{cluster=~"$cluster", '
            'datname!~"template.*"}[$__rate_interval]))\n/ on (instance) group_left ()\n'
            'clamp_min(max by (instance) (pg_settings_max_connections), 1) or vector(0)\n'
            'and histogram_quantile(0.99, sum by (le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m])))'
            ' unless up == 1e-9 and time() - patroni_dcs_last_seen offset 5m')
    assert metric_names(expr) == {
        "pg_stat_database_xact_commit", "pg_settings_max_connections",
        "etcd_disk_wal_fsync_duration_seconds_bucket", "up", "patroni_dcs_last_seen",
    }
    assert metric_names('sum(node_load1{instance=~"${instance:regex}"})') == {"node_load1"}


def test_index_lists_every_dashboard_and_nothing_else():
    on_disk = sorted(n for n in os.listdir(DASHBOARDS_DIR) if n.endswith(".json"))
    assert sorted(FILES) == on_disk
    assert len(set(FILES)) == len(FILES)
    for entry in INDEX:
        assert set(entry) == {"file", "title", "requires"}, entry
        assert isinstance(entry["requires"], list)
        assert set(entry["requires"]) <= {"citus", "backup"}, entry
    assert {e["file"]: e["requires"] for e in INDEX}["dpg-citus.json"] == ["citus"]


def test_uids_and_titles_are_unique():
    dashboards = [load(name) for name in FILES]
    uids = [d["uid"] for d in dashboards]
    titles = [d["title"] for d in dashboards]
    assert len(set(uids)) == len(uids)
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("name", FILES)
def test_dashboard_model(name):
    d = load(name)
    entry = next(e for e in INDEX if e["file"] == name)
    assert d["uid"] == name[:-len(".json")]
    assert d["title"] == entry["title"] and d["title"].startswith("dpg / ")
    assert d["schemaVersion"] == 39
    assert "dpg" in d["tags"]
    assert d.get("id") is None
    panels = list(iter_panels(d["panels"]))
    assert len(panels) >= 6
    ids = [p["id"] for p in panels]
    assert len(set(ids)) == len(ids)
    for p in panels:
        pos = p["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, p["title"]


@pytest.mark.parametrize("name", FILES)
def test_template_variables(name):
    variables = {v["name"]: v for v in load(name)["templating"]["list"]}
    ds = variables["DS_PROMETHEUS"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    assert "cluster" in variables
    for v in variables.values():
        if v["type"] != "query":
            continue
        assert v["datasource"] == DATASOURCE, v["name"]
        assert v["includeAll"] and v["multi"] and v["allValue"] == ".+", v["name"]
        query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        assert query.startswith("label_values("), v["name"]
        assert variables_used(query) <= set(variables) | GRAFANA_BUILTINS, v["name"]
        assert metric_names(query.split("(", 1)[1].rsplit(",", 1)[0]) <= ALLOWED_METRICS, v["name"]
    assert variables["cluster"]["definition"] == "label_values(up, cluster)"


@pytest.mark.parametrize("name", FILES)
def test_panel_queries(name):
    d = load(name)
    defined = {v["name"] for v in d["templating"]["list"]} | GRAFANA_BUILTINS
    for p in iter_panels(d["panels"]):
        if p.get("type") == "row":
            continue
        assert p.get("targets"), p["title"]
        assert p["datasource"] == DATASOURCE, p["title"]
        for t in p["targets"]:
            where = "%s / %s / %s" % (name, p["title"], t.get("refId"))
            expr = t.get("expr", "")
            assert expr.strip(), where
            assert t["datasource"] == DATASOURCE, where
            assert variables_used(expr) <= defined, where
            unknown = metric_names(expr) - ALLOWED_METRICS
            assert not unknown, "%s: not in the monitoring contract: %s" % (where, sorted(unknown))
            assert metric_names(expr), where
            # The variables' "All" is the regular expression .+: a variable is matched with =~.
            assert not re.search(r'(?<![=!])(!?=)\s*"\$', expr), where
            for window in re.findall(r"\b(?:rate|irate)\([^\[]*\[([^\]]*)\]", expr):
                assert window == "$__rate_interval", where
            # a constant fallback answers even when the metric is gone: "every panel returns data"
            # (molecule backup_monitoring) could not fail for that panel
            assert not re.search(r"\bor\s+vector\(", expr), "%s: 'or vector(...)' hides a missing metric" % where


@pytest.mark.parametrize("name", FILES)
def test_refids_unique_per_panel(name):
    for p in iter_panels(load(name)["panels"]):
        refs = [t["refId"] for t in p.get("targets", [])]
        assert len(set(refs)) == len(refs), p["title"]
