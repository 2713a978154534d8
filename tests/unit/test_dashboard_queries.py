"""molecule/resources/dashboards.py: the dashboards' queries with Grafana's variables replaced."""

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARDS_DIR = os.path.join(ROOT, "roles", "grafana", "files", "dashboards")

_spec = importlib.util.spec_from_file_location(
    "dpg_dashboards", os.path.join(ROOT, "molecule", "resources", "dashboards.py"))
dashboards = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dashboards)


def write_dashboard(directory, name, title, exprs, nested=False):
    panels = [{"id": i + 1, "type": "timeseries", "title": "p%d" % i,
               "targets": [{"refId": "A", "expr": e}]} for i, e in enumerate(exprs)]
    if nested:
        panels = [{"id": 100, "type": "row", "title": "row", "collapsed": True, "panels": panels}]
    with open(os.path.join(directory, name), "w") as f:
        json.dump({"title": title, "uid": name[:-5], "panels": panels}, f)


@pytest.fixture
def small_dir(tmp_path):
    write_dashboard(tmp_path, "a.json", "A", ['up{cluster=~"$cluster"}', ""])
    write_dashboard(tmp_path, "b.json", "B", ['citus_tables_distributed{cluster=~"${cluster}"}'])
    write_dashboard(tmp_path, "c.json", "C", ["pgbackrest_repo_status"], nested=True)
    (tmp_path / "index.yml").write_text(
        "- {file: a.json, title: A, requires: []}\n"
        "- {file: b.json, title: B, requires: [citus]}\n"
        "- {file: c.json, title: C, requires: [backup]}\n")
    return str(tmp_path)


@pytest.mark.parametrize("expr, variables, expected", [
    ('up{cluster=~"$cluster"}', {"cluster": "dpg"}, 'up{cluster=~"dpg"}'),
    ('up{cluster=~"${cluster}"}', {"cluster": "dpg"}, 'up{cluster=~"dpg"}'),
    ('up{cluster=~"${cluster:regex}"}', {"cluster": "dpg"}, 'up{cluster=~"dpg"}'),
    ('up{cluster=~"[[cluster]]"}', {"cluster": "dpg"}, 'up{cluster=~"dpg"}'),
    ('up{cluster=~"$cluster", citus_group=~"$citus_group"}', {"cluster": "dpg"},
     'up{cluster=~"dpg", citus_group=~".+"}'),
    ('up{cluster=~"$cluster"}', {"cluster": ["a", "b"]}, 'up{cluster=~"(a|b)"}'),
    ('up{cluster=~"$cluster"}', {"cluster": ["a"]}, 'up{cluster=~"a"}'),
    ("rate(x[$__rate_interval]) + rate(y[${__interval}]) + increase(z[$__range])", None,
     "rate(x[1m]) + rate(y[1m]) + increase(z[5m])"),
    ("increase(z[$__range])", {"__range": "1h"}, "increase(z[1h])"),
    # $instance is not a prefix of $instances: whole names only
    ('a{i=~"$instances", j=~"$instance"}', {"instance": "n1"}, 'a{i=~".+", j=~"n1"}'),
    ("vector(0)", {"cluster": "dpg"}, "vector(0)"),
])
def test_substitute(expr, variables, expected):
    assert dashboards.substitute(expr, variables) == expected


def test_panel_queries_skips_dashboards_by_feature(small_dir):
    assert dashboards.panel_queries(small_dir, {"cluster": "dpg"}) == [("A", "p0", 'up{cluster=~"dpg"}')]
    with_citus = dashboards.panel_queries(small_dir, {"cluster": "dpg"}, features={"citus"})
    assert with_citus == [("A", "p0", 'up{cluster=~"dpg"}'),
                          ("B", "p0", 'citus_tables_distributed{cluster=~"dpg"}')]
    everything = dashboards.panel_queries(small_dir, None, features={"citus", "backup"})
    assert [q[0] for q in everything] == ["A", "B", "C"]
    assert everything[0][2] == 'up{cluster=~".+"}'


def test_panel_queries_reads_rows_and_leaves_out_hidden_queries(small_dir):
    path = os.path.join(small_dir, "a.json")
    with open(path) as f:
        d = json.load(f)
    d["panels"][0]["targets"].append({"refId": "B", "expr": "up", "hide": True})
    with open(path, "w") as f:
        json.dump(d, f)
    assert dashboards.panel_queries(small_dir, features={"backup"}) == [
        ("A", "p0", 'up{cluster=~".+"}'), ("C", "p0", "pgbackrest_repo_status")]


def test_collection_dashboards():
    """The real dashboards: no variable left, Citus and backup dashboards only with the feature."""
    plain = dashboards.panel_queries(DASHBOARDS_DIR, {"cluster": "dpg"})
    full = dashboards.panel_queries(DASHBOARDS_DIR, {"cluster": "dpg"}, features={"citus", "backup"})
    titles = {q[0] for q in plain}
    assert "dpg / Citus shards" not in titles and "dpg / Backups (pgBackRest)" not in titles
    assert {"dpg / Overview", "dpg / Nodes"} <= titles
    assert {q[0] for q in full} == {e["title"] for e in dashboards.load_index(DASHBOARDS_DIR)}
    for expr in (q[2] for q in full):
        assert "$" not in expr and "[[" not in expr, expr
        assert 'cluster=~"dpg"' in expr or "cluster" not in expr, expr
