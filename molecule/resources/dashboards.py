"""The PromQL queries of the collection's Grafana dashboards, ready to send to Prometheus.

The dashboards (``roles/grafana/files/dashboards/*.json``) use Grafana template variables
(``$cluster``, ``${citus_group}``, ``$__rate_interval`` ...). :func:`panel_queries` replaces them
the way Grafana would for one choice of values, so a test can evaluate every panel's expression
through Prometheus's HTTP API and fail on an empty result. ``index.yml`` beside the dashboards says
which ones need Citus or a backup repository; those are skipped unless ``features`` names it.
"""

import json
import os
import re

import yaml

# Grafana's built-in variables, with the values a test uses: rates over 1 minute (4 scrapes at
# 15 s), a 5 minute dashboard range.
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "5m",
    "__range_s": "300",
    "__range_ms": "300000",
}

# A value for a variable the caller did not give: every panel matches variables with =~, so
# this is Grafana's "All" (the dashboards' allValue).
DEFAULT_VALUE = ".+"

# $name, ${name} and ${name:format}; [[name]] is Grafana's deprecated form.
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")


def load_index(dashboards_dir):
    """The entries of ``index.yml``: dicts with ``file``, ``title`` and ``requires`` (a list)."""
    with open(os.path.join(dashboards_dir, "index.yml")) as f:
        return yaml.safe_load(f)


def substitute(expr, variables=None):
    """``expr`` with every Grafana variable replaced.

    ``variables`` maps a variable's name to its value: a string (used as it is, a regular
    expression since the dashboards match with ``=~``) or a list of strings (joined as
    ``(a|b)``, as Grafana does for several selected values). Built-ins get :data:`BUILTINS`
    unless ``variables`` names them; any other variable gets :data:`DEFAULT_VALUE`.
    """
    variables = dict(variables or {})

    def value(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in variables:
            v = variables[name]
            if not isinstance(v, (list, tuple)):
                return str(v)
            if len(v) == 1:
                return str(v[0])
            return "(" + "|".join(str(x) for x in v) + ")" if v else DEFAULT_VALUE
        if name in BUILTINS:
            return BUILTINS[name]
        return DEFAULT_VALUE

    return _VARIABLE.sub(value, expr)


def iter_panels(panels):
    """Every panel, including those inside (collapsed) rows."""
    for panel in panels or []:
        yield panel
        yield from iter_panels(panel.get("panels"))


def panel_queries(dashboards_dir, variables=None, features=()):
    """``[(dashboard_title, panel_title, expr)]`` for every query of every dashboard.

    Dashboards come from ``index.yml`` in ``dashboards_dir``; one whose ``requires`` names
    something not in ``features`` (e.g. ``{"backup"}``, ``{"citus", "backup"}``) is skipped.
    Hidden queries and queries without an expression are left out. Variables are replaced by
    :func:`substitute`.
    """
    features = set(features or ())
    out = []
    for entry in load_index(dashboards_dir):
        if not set(entry.get("requires") or []) <= features:
            continue
        with open(os.path.join(dashboards_dir, entry["file"])) as f:
            dashboard = json.load(f)
        for panel in iter_panels(dashboard.get("panels")):
            for target in panel.get("targets") or []:
                expr = (target.get("expr") or "").strip()
                if not expr or target.get("hide"):
                    continue
                out.append((dashboard["title"], panel.get("title", ""), substitute(expr, variables)))
    return out
