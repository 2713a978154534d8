"""What the traefik role writes, for several inventories, checked against every known way Traefik's
TCP routing comes up empty or broken (molecule/resources/traefik_config.py).

The role runs for real (ansible-playbook, its configure phase with traefik_install_method=config_only)
on this machine, into a temporary directory, for a balancer whose PostgreSQL nodes are never
contacted. A second run must change nothing. The checker itself is shown to find each pitfall.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "molecule", "resources"))
from traefik_config import config_problems  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
           PATH=BIN + os.pathsep + os.environ.get("PATH", ""))

PLAY = [{"hosts": "lb1", "gather_facts": False, "tasks": [
    {"name": "Render", "ansible.builtin.include_role": {"name": "dpg.cluster.traefik"}}]}]


def _render(tmp_path, nodes, **extra):
    """Run the traefik role (config_only) into tmp_path; return (static dict, {file: text}, changed counts)."""
    hosts = {name: {"ansible_host": addr} for name, addr, _group in nodes}
    for name, _addr, group in nodes:
        if group is not None:
            hosts[name]["citus_group"] = group
    conf = tmp_path / "etc"
    inv = {"all": {"vars": dict({"dpg_cluster_name": "demo", "traefik_install_method": "config_only",
                                 "traefik_config_dir": str(conf)}, **extra),
                   "children": {"postgres": {"hosts": hosts},
                                "balancers": {"hosts": {"lb1": {
                                    "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inv))
    (tmp_path / "play.yml").write_text(json.dumps(PLAY))
    changed = []
    for _attempt in range(2):
        res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                              str(tmp_path / "play.yml")], capture_output=True, text=True, env=ENV, timeout=300,
                             check=False)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
        changed.append(int(res.stdout.split("changed=")[1].split()[0]))
    static = yaml.safe_load((conf / "traefik.yml").read_text())
    dynamic = dict((p.name, p.read_text()) for p in (conf / "dynamic").iterdir())
    return static, dynamic, changed


THREE = [("pg1", "10.1.0.11", None), ("pg2", "10.1.0.12", None), ("pg3", "10.1.0.13", None)]
CITUS = [("c1", "10.2.0.1", 0), ("c2", "10.2.0.2", 0), ("w1a", "10.2.1.1", 1), ("w1b", "10.2.1.2", 1)]


@pytest.fixture(autouse=True)
def _root_only():
    if os.geteuid() != 0:
        pytest.skip("the role writes files owned by root: run as root (CI and `make test` do)")


@pytest.mark.parametrize("shape", ["tls", "no_tls", "citus", "ipv6"])
def test_rendered_configuration_has_no_pitfall_and_reruns_unchanged(tmp_path, shape):
    if shape == "tls":
        static, dynamic, changed = _render(tmp_path, THREE)
    elif shape == "no_tls":
        static, dynamic, changed = _render(tmp_path, THREE, dpg_tls_enabled=False)
    elif shape == "citus":
        static, dynamic, changed = _render(tmp_path, CITUS, dpg_citus_enabled=True)
    else:
        static, dynamic, changed = _render(tmp_path, [("pg1", "fd00::11", None), ("pg2", "fd00::12", None)],
                                           traefik_api_address="::1")
    assert config_problems(static, dynamic) == []
    assert changed[0] > 0 and changed[1] == 0, changed
    assert list(dynamic) == ["dpg-postgresql.yml"]
    tcp = yaml.safe_load(dynamic["dpg-postgresql.yml"])["tcp"]
    assert sorted(tcp["routers"]) == ["coordinator", "primary", "replicas"]
    eps = static["entryPoints"]
    assert [eps[n]["address"] for n in ("primary", "replicas", "coordinator")] == [":5500", ":5501", ":5502"]
    servers = {n: [s["address"] for s in svc["loadBalancer"]["servers"]] for n, svc in tcp["services"].items()}
    checks = {n: svc["loadBalancer"]["healthCheck"] for n, svc in tcp["services"].items()}
    assert checks["primary"]["send"] == "OPTIONS /primary HTTP/1.0\r\n\r\n"
    assert checks["replicas"]["send"] == "OPTIONS /replica?lag=16MB&replication_state=streaming HTTP/1.0\r\n\r\n"
    assert all(c["expect"] == "HTTP/1.0 200" for c in checks.values())
    if shape == "tls":
        # Traefik's check cannot speak TLS to Patroni's HTTPS API: it asks dpg-patroni-check
        assert servers["primary"] == ["10.1.0.11:6432", "10.1.0.12:6432", "10.1.0.13:6432"]
        assert {c["port"] for c in checks.values()} == {8009}
        assert static["entryPoints"]["traefik"]["address"] == "127.0.0.1:8080"
        assert static["providers"]["file"] == {"directory": str(tmp_path / "etc" / "dynamic"), "watch": True}
    elif shape == "no_tls":
        assert {c["port"] for c in checks.values()} == {8008}
    elif shape == "citus":
        # every route serves the coordinator group only, never a worker
        assert servers["coordinator"] == servers["primary"] == ["10.2.0.1:6432", "10.2.0.2:6432"]
    else:
        assert servers["primary"] == ["[fd00::11]:6432", "[fd00::12]:6432"]
        assert static["entryPoints"]["traefik"]["address"] == "[::1]:8080"


def test_route_without_servers_stops_the_role(tmp_path):
    with pytest.raises(AssertionError) as err:
        _render(tmp_path, CITUS, dpg_citus_enabled=True,
                traefik_routes=[{"name": "workers3", "port": 5510, "check": "/primary", "citus_group": 3}])
    assert "route workers3 has no server (no PostgreSQL host in Citus group 3)" in str(err.value)


GOOD_STATIC = {"entryPoints": {"primary": {"address": ":5500"}, "traefik": {"address": "127.0.0.1:8080"}},
               "providers": {"file": {"directory": "/etc/traefik/dynamic", "watch": True}}}
GOOD_DYNAMIC = {"tcp": {"routers": {"primary": {"entryPoints": ["primary"], "rule": "HostSNI(`*`)", "service": "primary"}},
                        "services": {"primary": {"loadBalancer": {"servers": [{"address": "10.0.0.1:6432"}]}}}}}


def _bad(static_change=None, dynamic_change=None, name="dpg.yml"):
    static = json.loads(json.dumps(GOOD_STATIC))
    dynamic = json.loads(json.dumps(GOOD_DYNAMIC))
    if static_change:
        static_change(static)
    if dynamic_change:
        dynamic_change(dynamic)
    return config_problems(static, {name: yaml.safe_dump(dynamic)})


def test_the_checker_passes_a_good_configuration():
    assert _bad() == []


@pytest.mark.parametrize("problems,needle", [
    (lambda: _bad(static_change=lambda s: s.update(tcp=GOOD_DYNAMIC["tcp"])), "'tcp' is dynamic configuration"),
    (lambda: _bad(static_change=lambda s: s.pop("providers")), "no providers.file"),
    (lambda: _bad(static_change=lambda s: s["providers"]["file"].update(filename="/etc/traefik/dpg.yml")),
     "both filename and directory"),
    (lambda: _bad(name="dpg.conf"), "skips files not ending in .yml"),
    (lambda: config_problems(GOOD_STATIC, {"dpg.yml": "tcp: [routers: {"}), "does not parse"),
    (lambda: _bad(dynamic_change=lambda d: d["tcp"]["routers"]["primary"].update(entryPoints=["postgres"])),
     "entry point postgres is not in the static configuration"),
    (lambda: _bad(dynamic_change=lambda d: d["tcp"]["routers"]["primary"].update(rule="HostSNI(`db.example.com`)")),
     "HostSNI with a name needs TLS"),
    (lambda: _bad(dynamic_change=lambda d: d["tcp"]["routers"].update(
        second={"entryPoints": ["primary"], "rule": "HostSNI(`*`)", "service": "primary"})), "must be alone"),
    (lambda: _bad(dynamic_change=lambda d: d["tcp"]["services"]["primary"]["loadBalancer"].update(servers=[])),
     "service primary: no servers"),
    (lambda: _bad(dynamic_change=lambda d: d["tcp"]["routers"]["primary"].update(service="nowhere")),
     "service nowhere is not defined"),
    (lambda: _bad(dynamic_change=lambda d: d["tcp"].pop("routers")), "no TCP router"),
    (lambda: _bad(dynamic_change=lambda d: d["tcp"]["services"]["primary"]["loadBalancer"].update(
        servers=[{"address": "10.0.0.1"}])), "is not host:port"),
])
def test_the_checker_finds_each_pitfall(problems, needle):
    found = problems()
    assert any(needle in p for p in found), found
