"""Traefik in the ha scenario: the configuration the role wrote on the balancer, and its health checks.

No Traefik binary is reachable from these machines. Without DPG_TRAEFIK_BINARY the role runs with
traefik_install_method=config_only: these tests read what it wrote on the balancer, check it for
every known pitfall, and perform exactly Traefik 3.6's TCP health check themselves, from the
balancer, for every rendered service and server: connect to the check port, write `send`, read as
many bytes as `expect` has (one read, as Traefik does), compare. Exactly the primary must pass the
read-write checks and the replicas the read-only one, before and after a switchover made through
dpg.cluster.patroni_cluster. With DPG_TRAEFIK_BINARY, Traefik runs and its API and a write through
5500 are checked too.
"""

import json
import os
import sys
import time

import docker
import psycopg2
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
sys.path.insert(0, HERE)
from adhoc import module as _module  # noqa: E402  pylint: disable=wrong-import-position
from drill import report  # noqa: E402  pylint: disable=wrong-import-position
from test_modules import CFG, _auth, _secret  # noqa: E402  pylint: disable=wrong-import-position
from traefik_config import config_problems  # noqa: E402  pylint: disable=wrong-import-position

NODES = os.environ.get("DPG_PG_NODES", "mol-ha-pg1,mol-ha-pg2,mol-ha-pg3").split(",")
BALANCER = os.environ.get("DPG_BALANCER", "mol-ha-lb1")
TRAEFIK_PORTS = [int(p) for p in os.environ.get("DPG_TRAEFIK_PORTS", "15500,15501,15502").split(",")]
DOCKER = docker.from_env()
NO_BINARY = "DPG_TRAEFIK_BINARY is not set: no Traefik binary is reachable here (not in Debian, not on PyPI)"

# Traefik 3.6's check (pkg/healthcheck/healthcheck_tcp.go), run on the balancer for a list of
# [address, port, send, expect]: dial with the timeout, write send, one Read of len(expect) bytes, compare.
EMULATION = r'''
import json, socket, sys
out = []
for host, port, send, expect, timeout in json.loads(sys.argv[1]):
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(send.encode())
            got = conn.recv(len(expect.encode()))
            out.append(got == expect.encode())
    except OSError:
        out.append(False)
print(json.dumps(out))
'''


def _balancer_run(cmd):
    res = DOCKER.containers.get(BALANCER).exec_run(cmd)
    assert res.exit_code == 0, res.output.decode(errors="replace")[-2000:]
    return res.output.decode()


def _written():
    """(static dict, {file name: text}) as the role wrote them on the balancer."""
    static = yaml.safe_load(_balancer_run(["cat", "/etc/traefik/traefik.yml"]))
    names = _balancer_run(["ls", "/etc/traefik/dynamic"]).split()
    return static, dict((n, _balancer_run(["cat", "/etc/traefik/dynamic/" + n])) for n in names)


def _addresses():
    """{container IP: member name} on the scenario's network."""
    out = {}
    for name in NODES:
        for net in DOCKER.containers.get(name).attrs["NetworkSettings"]["Networks"].values():
            out[net["IPAddress"]] = name
    return out


def _passing():
    """{service: sorted members whose health check passes}, by the emulation run on the balancer."""
    _static, dynamic = _written()
    services = yaml.safe_load(dynamic["dpg-postgresql.yml"])["tcp"]["services"]
    names = _addresses()
    probes, keys = [], []
    for svc, conf in sorted(services.items()):
        check = conf["loadBalancer"]["healthCheck"]
        timeout = float(check["timeout"].rstrip("s"))
        for server in conf["loadBalancer"]["servers"]:
            host = server["address"].rsplit(":", 1)[0]
            probes.append([host, check["port"], check["send"], check["expect"], timeout])
            keys.append((svc, names.get(host, host)))
    results = json.loads(_balancer_run(["python3", "-c", EMULATION, json.dumps(probes)]))
    out = dict((svc, []) for svc in services)
    for (svc, member), ok in zip(keys, results):
        if ok:
            out[svc].append(member)
    return dict((svc, sorted(m)) for svc, m in out.items())


def _expected(leader):
    replicas = sorted(n for n in NODES if n != leader)
    return {"primary": [leader], "coordinator": [leader], "replicas": replicas}


def _wait_for(leader, bound_s=30):
    deadline = time.time() + bound_s
    while True:
        got = _passing()
        if got == _expected(leader) or time.time() > deadline:
            return got
        time.sleep(1)


def test_written_configuration_has_no_pitfall():
    static, dynamic = _written()
    assert config_problems(static, dynamic) == []
    routers = yaml.safe_load(dynamic["dpg-postgresql.yml"])["tcp"]["routers"]
    assert sorted(routers) == ["coordinator", "primary", "replicas"]


def test_health_checks_follow_the_primary_through_a_switchover():
    before = _module(NODES[0], "dpg.cluster.patroni_cluster", dict(operation="wait", replicas=2, wait_timeout=180, **CFG))
    assert not before.get("failed"), before
    old = before["leader"]
    got = _wait_for(old)
    report("TRAEFIK checks before the switchover (leader %s): %s" % (old, json.dumps(got, sort_keys=True)))
    assert got == _expected(old)
    replicas = [m for m in before["members"] if m["name"] != old]
    candidate = ([m["name"] for m in replicas if m["role"] == "sync_standby"] or [replicas[0]["name"]])[0]
    started = time.time()
    res = _module(NODES[0], "dpg.cluster.patroni_cluster",
                  dict(operation="switchover", candidate=candidate, wait_timeout=120, **_auth()))
    assert not res.get("failed") and res["leader"] == candidate, res.get("msg", res)
    got = _wait_for(candidate)
    report("TRAEFIK checks %.1f s after the switchover started (leader %s): %s"
           % (time.time() - started, candidate, json.dumps(got, sort_keys=True)))
    assert got == _expected(candidate)
    assert old in got["replicas"] and old not in got["primary"]


def test_the_check_service_refuses_what_is_not_a_role_check():
    host = next(ip for ip, name in _addresses().items() if name == NODES[0])
    probes = [[host, 8009, "PATCH /config HTTP/1.0\r\n\r\n", "HTTP/1.0 200", 3],
              [host, 8009, "GET /config HTTP/1.0\r\n\r\n", "HTTP/1.0 200", 3],
              [host, 8009, "GET /patroni HTTP/1.0\r\n\r\n", "HTTP/1.0 200", 3],
              [host, 8009, "GET /health HTTP/1.0\r\n\r\n", "HTTP/1.0 200", 3]]
    assert json.loads(_balancer_run(["python3", "-c", EMULATION, json.dumps(probes)])) == [False, False, False, True]


@pytest.mark.skipif(not os.environ.get("DPG_TRAEFIK_BINARY"), reason=NO_BINARY)
def test_traefik_api_lists_the_three_routers_enabled():
    out = _balancer_run(["python3", "-c", "import urllib.request;"
                         "print(urllib.request.urlopen('http://127.0.0.1:8080/api/tcp/routers').read().decode())"])
    routers = [r for r in json.loads(out) if r.get("provider") == "file"]
    assert sorted((r["name"], r["status"]) for r in routers) == [
        ("coordinator@file", "enabled"), ("primary@file", "enabled"), ("replicas@file", "enabled")], routers


@pytest.mark.skipif(not os.environ.get("DPG_TRAEFIK_BINARY"), reason=NO_BINARY)
def test_a_write_through_traefik_lands_on_the_primary():
    conn = psycopg2.connect(host="127.0.0.1", port=TRAEFIK_PORTS[0], dbname="dpg", user="dpg_app",
                            password=_secret("app"), connect_timeout=5, sslmode="require")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery()")
            assert cur.fetchone()[0] is False
            cur.execute("CREATE TABLE IF NOT EXISTS traefik_probe (at timestamptz DEFAULT now())")
            cur.execute("INSERT INTO traefik_probe DEFAULT VALUES")
    finally:
        conn.close()
