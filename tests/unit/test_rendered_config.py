"""Configuration files as the roles render them, from the roles' own defaults, checked without a host."""

import os
import re

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _yaml(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def _trusted(value):
    """``value`` with every string marked as a template, as Ansible marks what it reads from a role."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def render(role, template, **overrides):
    """roles/<role>/templates/<template> rendered with the role's defaults and vars, then ``overrides``."""
    variables = dict(ansible_managed="managed by test")
    variables.update(_trusted(_yaml("roles", role, "defaults", "main.yml")))
    if os.path.exists(os.path.join(ROOT, "roles", role, "vars", "main.yml")):
        variables.update(_trusted(_yaml("roles", role, "vars", "main.yml")))
    variables.update(overrides)
    with open(os.path.join(ROOT, "roles", role, "templates", template), encoding="utf-8") as f:
        text = f.read()
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text))


def _ini(text):
    """key = value lines of an ini text as a dict (sections and comments left out)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith((";", "#", "[")):
            out[key.strip()] = value.strip()
    return out


def _seconds(value):
    """HAProxy's time format ('500ms', '2s', '3') in seconds (float)."""
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s)?$", str(value))
    assert m, value
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


def test_pgbouncer_login_retry_ends_before_haproxy_routes_to_a_restarted_member():
    """After a failed server login PgBouncer refuses the pool's clients for server_login_retry seconds; HAProxy
    routes to a member again after rise passing checks, inter apart. A longer lockout than that refused every
    client sent to a demoted leader right after a switchover (PgBouncer's default 15 s)."""
    ini = _ini(render("pgbouncer", "pgbouncer.ini.j2", dpg_tls_enabled=True))
    retry = int(ini["server_login_retry"])
    profiles = _yaml("roles", "haproxy", "vars", "main.yml")["__haproxy_rto_profiles"]
    for name, p in profiles.items():
        assert retry < p["rise"] * _seconds(p["inter"]), (name, retry, p)
    assert _ini(render("pgbouncer", "pgbouncer.ini.j2", dpg_tls_enabled=True,
                       pgbouncer_server_login_retry=3))["server_login_retry"] == "3"


@pytest.mark.parametrize("tls, present", [(True, True), (False, False)])
def test_pgbouncer_tls_settings_follow_the_switch(tls, present):
    ini = _ini(render("pgbouncer", "pgbouncer.ini.j2", dpg_tls_enabled=tls, pgbouncer_tls_enabled=tls))
    assert ("client_tls_sslmode" in ini) is present
    assert ini["auth_type"] == "scram-sha-256" and ini["pool_mode"] == "transaction"
