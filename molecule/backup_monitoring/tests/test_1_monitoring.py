"""backup_monitoring scenario, first: Prometheus, Alertmanager and every exporter, checked through Prometheus's API.

Prometheus is reached as an operator reaches it: its published port over HTTPS, checked against the
scenario's CA. The tests run in file order on one cluster: every target up, every metric the alert
rules read present, every dashboard panel returning data, no alert on the healthy cluster, then
PostgreSQL stopped on a replica (the replica alert fires, Alertmanager has it) and started (it resolves),
the health check's monitoring row, the exporters' footprint, and a re-run of monitoring.yml that
changes nothing.
"""

import json
import os
import re
import ssl
import sys
import time
import urllib.parse
import urllib.request

import testinfra
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
from adhoc import playbook  # noqa: E402  pylint: disable=wrong-import-position
from dashboards import panel_queries  # noqa: E402  pylint: disable=wrong-import-position
from drill import report, wait  # noqa: E402  pylint: disable=wrong-import-position

PROMETHEUS = os.environ.get("DPG_PROMETHEUS_URL", "https://127.0.0.1:39090")
ALERTMANAGER = os.environ.get("DPG_ALERTMANAGER_URL", "https://127.0.0.1:39093")
LAB_DIR = os.environ["DPG_LAB_DIR"]
NODES = os.environ.get("DPG_PG_NODES", "mol-bk-pg1,mol-bk-pg2,mol-bk-pg3").split(",")
MON = os.environ.get("DPG_MON_HOST", "mol-bk-ops1")
RULES = "/etc/prometheus/rules/dpg-alerts.rules.yml"
DASHBOARDS = os.path.join(ROOT, "roles", "grafana", "files", "dashboards")
# The scenario has a backup repository and no Citus: dashboards and rule metrics that need Citus are left out.
FEATURES = {"backup"}
# Words of PromQL that look like metric names once label matchers and groupings are removed.
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                "offset", "inf", "nan"}
CONTEXT = ssl.create_default_context(cafile=os.path.join(LAB_DIR, "ca.crt"))


def _get(base, path, params=None):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, context=CONTEXT, timeout=15) as res:
        return json.loads(res.read().decode())


def query(expr):
    """Prometheus instant query: the result vector (list of {metric, value})."""
    body = _get(PROMETHEUS, "/api/v1/query", {"query": expr})
    assert body["status"] == "success", body
    return body["data"]["result"]


def _targets():
    return _get(PROMETHEUS, "/api/v1/targets", {"state": "active"})["data"]["activeTargets"]


def _firing(alertname=None):
    selector = 'alertstate="firing"' + (', alertname="%s"' % alertname if alertname else "")
    return [r["metric"] for r in query("ALERTS{%s}" % selector)]


def _metric_names(expr):
    """Metric names an expression reads: strings, comments, label matchers, groupings and functions removed."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"#[^\n]*", " ", text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_WORDS:
            continue
        names.add(name)
    return names


def _replica():
    host = testinfra.get_host("docker://" + NODES[0])
    members = json.loads(host.check_output("patronictl -c /etc/patroni/config.yml list -f json"))
    replicas = [m["Member"] for m in members if m["Role"] != "Leader"]
    assert replicas, members
    return replicas[0]


def test_every_scrape_target_is_up():
    start = time.time()
    assert wait(lambda: all(t["health"] == "up" for t in _targets()) and len(_targets()) > 0, 180, step=2), \
        "targets not up after 180 s: %s" % [(t["labels"]["job"], t["labels"]["instance"], t["lastError"])
                                            for t in _targets() if t["health"] != "up"]
    targets = _targets()
    jobs = sorted({t["labels"]["job"] for t in targets})
    # every job the inventory implies, each target with the inventory's labels
    assert jobs == sorted(["node", "postgres", "pgbouncer", "patroni", "etcd", "haproxy", "pgbackrest", "prometheus",
                           "alertmanager"])
    for t in targets:
        assert t["labels"]["cluster"] == "dpg-lab" and t["labels"]["instance"] in NODES + [MON], t["labels"]
        assert t["scrapeUrl"].startswith("https://") or t["labels"]["job"] == "haproxy", t["scrapeUrl"]
        if t["labels"]["job"] in ("postgres", "pgbouncer", "patroni"):
            assert t["labels"]["citus_group"] == "0" and t["labels"]["role"] == "postgres", t["labels"]
    # postgres_exporter's own queries and the collection's custom ones ran without an error
    errors = query("pg_exporter_last_scrape_error")
    assert len(errors) == len(NODES) and all(float(r["value"][1]) == 0 for r in errors), errors
    durations = {}
    for t in targets:
        durations.setdefault(t["labels"]["job"], []).append(t["lastScrapeDuration"] * 1000)
    report("MONITORING %d targets in %d jobs up %.0f s after converge's end; scrape ms (max per job): %s"
           % (len(targets), len(jobs), time.time() - start,
              ", ".join("%s %.0f" % (job, max(ms)) for job, ms in sorted(durations.items()))))


def test_every_alert_rule_reads_live_metrics():
    rules = yaml.safe_load(testinfra.get_host("docker://" + MON).file(RULES).content_string)
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) >= 15, [a["alert"] for a in alerts]
    names = set()
    for rule in alerts:
        names |= _metric_names(rule["expr"])
    names -= {"time", "vector"}
    if "citus" not in FEATURES:
        names = {n for n in names if not n.startswith("citus_")}
    # pgbackrest_exporter reads the repository once a minute: allow every exporter two rounds
    missing = sorted(names)
    deadline = time.time() + 90
    while True:
        missing = [n for n in missing if not query('count({__name__="%s"})' % n)]
        if not missing or time.time() > deadline:
            break
        time.sleep(5)
    assert not missing, "metrics the alert rules read that Prometheus has no series of: %s" % missing
    report("MONITORING %d alert rules read %d metrics, every one present" % (len(alerts), len(names)))


def test_every_dashboard_panel_returns_data():
    panels = panel_queries(DASHBOARDS, {"cluster": "dpg-lab"}, features=FEATURES)
    assert len(panels) >= 30, len(panels)
    # a rate over $__rate_interval (1 minute) needs two scrapes in its window: a panel may wait for them
    pending = list(panels)
    deadline = time.time() + 120
    while True:
        pending = [p for p in pending if not query(p[2])]
        if not pending or time.time() > deadline:
            break
        time.sleep(5)
    empty = ["%s / %s: %s" % p for p in pending]
    dashboards = sorted({panel[0] for panel in panels})
    report("DASHBOARDS %d dashboards (Citus-only ones left out), %d panel queries, %d returned data"
           % (len(dashboards), len(panels), len(panels) - len(empty)))
    assert not empty, "panels without data:\n" + "\n".join(empty)


def test_healthy_cluster_fires_no_alert():
    firing = _firing()
    assert not firing, "alerts firing on the healthy cluster: %s" % firing


def test_replica_stop_fires_the_replica_alert_and_it_resolves():
    """PostgreSQL stopped on a replica (Patroni paused, so it does not start it again at once): the replica
    alert fires within 2 minutes and reaches Alertmanager; after Patroni resumes and starts PostgreSQL it resolves."""
    replica = _replica()
    host = testinfra.get_host("docker://" + replica)
    ctl = "patronictl -c /etc/patroni/config.yml"
    host.check_output(ctl + " pause --wait")
    try:
        data_dir = host.check_output("su postgres -s /bin/sh -c \"psql -XAtc 'SHOW data_directory'\"")
        stopped = time.time()
        host.check_output("su postgres -s /bin/sh -c '/usr/lib/postgresql/17/bin/pg_ctl -D %s stop -m fast'" % data_dir)

        def fired():
            return [a for a in _firing("PatroniReplicaNotStreaming") if a.get("instance") == replica]
        assert wait(fired, 150, step=2), "PatroniReplicaNotStreaming did not fire for %s within 150 s" % replica
        fire_s = time.time() - stopped
        assert fire_s < 120, "the replica alert fired after %.0f s (target: within 2 minutes)" % fire_s
        in_alertmanager = wait(lambda: [a for a in _get(ALERTMANAGER, "/api/v2/alerts", {
            "filter": 'alertname="PatroniReplicaNotStreaming"'}) if a["labels"].get("instance") == replica], 60, step=2)
        am_s = time.time() - stopped
        assert in_alertmanager, "Alertmanager never received the replica alert"
    finally:
        # Patroni starts the stopped PostgreSQL again once it manages the cluster again
        host.check_output(ctl + " resume --wait")
    started = time.time()
    assert wait(lambda: not [a for a in query('ALERTS{alertname="PatroniReplicaNotStreaming"}')
                             if a["metric"].get("instance") == replica], 240, step=2), \
        "the replica alert did not resolve within 240 s of Patroni's resume"
    report("ALERT PatroniReplicaNotStreaming (PostgreSQL stopped on %s, Patroni paused): firing %.0f s after the stop, "
           "in Alertmanager at %.0f s; resolved %.0f s after Patroni resumed" % (replica, fire_s, am_s, time.time() - started))


def test_exporter_role_is_least_privilege():
    """postgres_exporter connects as dpg_monitor: no superuser, member of pg_monitor only, no password."""
    host = testinfra.get_host("docker://" + NODES[0])
    row = host.check_output(
        "psql -X -At -U postgres -d postgres -c \"SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, "
        "r.rolpassword IS NULL, (SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m "
        "JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) FROM pg_authid r WHERE r.rolname = 'dpg_monitor'\"")
    assert row == "f|f|f|f|t|pg_monitor", row
    dsn = host.file("/etc/default/prometheus-postgres-exporter").content_string
    assert "user=dpg_monitor " in dsn and "password" not in dsn.lower(), dsn


def test_health_check_reports_every_target_up():
    assert wait(lambda: all(t["health"] == "up" for t in _targets()), 120, step=2)
    rc, changed, out = playbook("playbooks/ops/health_check.yml")
    out = re.sub(r"\n\s+", " ", out)
    assert rc == 0 and changed == 0, out[-3000:]
    assert re.search(r"PASS\s+%s\s+every scrape target up" % MON, out), out[-3000:]


def test_exporters_footprint():
    """Memory and CPU of each exporter, scrape time, and Prometheus's ingestion, as figures."""
    rss = query('process_resident_memory_bytes{job=~"node|postgres|pgbouncer|pgbackrest"}')
    cpu = query('rate(process_cpu_seconds_total{job=~"node|postgres|pgbouncer|pgbackrest"}[2m]) * 100')
    samples = query("rate(prometheus_tsdb_head_samples_appended_total[2m])")
    series = query("prometheus_tsdb_head_series")
    assert rss and cpu and samples and series
    by_target = {}
    for r in rss:
        by_target[(r["metric"]["instance"], r["metric"]["job"])] = [float(r["value"][1]) / 2 ** 20, None]
    for r in cpu:
        key = (r["metric"]["instance"], r["metric"]["job"])
        if key in by_target:
            by_target[key][1] = float(r["value"][1])
    for (instance, job), (mib, pct) in sorted(by_target.items()):
        report("EXPORTER %s on %s: %.1f MiB resident, %.2f %% of a core" % (job, instance, mib, pct or 0.0))
    report("PROMETHEUS %.0f samples/s appended, %d series in the head block"
           % (float(samples[0]["value"][1]), int(float(series[0]["value"][1]))))


def test_rerun_of_monitoring_yml_changes_nothing():
    start = time.time()
    rc, changed, out = playbook("playbooks/monitoring.yml")
    assert rc == 0, out[-3000:]
    assert changed == 0, out[-6000:]
    report("MONITORING playbooks/monitoring.yml re-run: %.0f s, 0 changed" % (time.time() - start))
