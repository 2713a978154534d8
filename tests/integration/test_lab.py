"""The README's main job, end to end, as a new user does it.

`make lab` from nothing; then, with only `.lab/endpoints.env` sourced, psql writes a row through
127.0.0.1:5000 and reads it back through :5001, :5001 refuses a write, HAProxy's statistics page
on :7000 lists every backend, Prometheus on :9090 (HTTPS) has every target up; a second `make lab`
changes nothing; `make lab-down` leaves no container, network or `.lab/`. The sharded variant (only with DPG_CITUS_IMAGE) also checks the
coordinator endpoint, that citus_info sees every group and that local.system_config stays a plain
table. Runs after the molecule scenarios (tests/conftest.py orders it last) and always tears the
lab down, also when a step fails.
"""

import csv
import io
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.support import BIN, ROOT, TIMINGS, docker, docker_problem, inventory_hosts

LAB_DIR = os.path.join(ROOT, ".lab")
PORTS = (5000, 5001, 7000, 9090, 9093)

pytestmark = pytest.mark.lab


def _inventory_hosts(inventory):
    """Every host name of a lab inventory (containers the lab creates)."""
    with open(os.path.join(ROOT, "inventories", inventory, "hosts.yml")) as f:
        return sorted(inventory_hosts(yaml.safe_load(f)))


def _port_busy(port):
    import socket  # pylint: disable=import-outside-toplevel
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _precondition(topology, hosts):
    """The reason this machine cannot run the test, or None."""
    if topology == "citus" and not os.environ.get("DPG_CITUS_IMAGE"):
        return "DPG_CITUS_IMAGE is not set: no image carrying Citus (Citus is in no registry reachable here)"
    problem = docker_problem()
    if problem:
        return problem
    if not shutil.which("psql"):
        return "psql is not installed (.ci/run installs postgresql-client)"
    present = [h for h in hosts if docker("container", "inspect", h).returncode == 0]
    if present or os.path.exists(LAB_DIR) or any(_port_busy(p) for p in PORTS):
        return ("a lab or something else already uses this machine's lab (containers %s, %s, ports %s): "
                "make lab-down first; this test does not touch a lab it did not make" % (present, LAB_DIR, PORTS))
    return None


def _make(target, env, timeout):
    start = time.time()
    res = subprocess.run(["make", target], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout, check=False)
    return res.returncode, res.stdout + res.stderr, time.time() - start


def _user_shell(script):
    """Run script in bash with nothing but PATH and HOME, after sourcing .lab/endpoints.env."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    full = "set -a; . %s/endpoints.env; set +a\n%s" % (LAB_DIR, script)
    return subprocess.run(["bash", "-c", full], env=env, capture_output=True, text=True, timeout=60, check=False)


def _psql(sql, port_var=None):
    """psql as the user runs it: connection from endpoints.env; port_var names another port variable."""
    port = ' -p "$%s"' % port_var if port_var else ""
    res = _user_shell("psql -X -v ON_ERROR_STOP=1 -At%s -c %s" % (port, _sh_quote(sql)))
    return res.returncode, res.stdout.strip(), res.stderr.strip()


def _sh_quote(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


def _changed(out):
    m = re.search(r"make lab: (\d+) s, (\d+) changed tasks", out)
    assert m, "make lab printed no summary line:\n" + out[-4000:]
    return int(m.group(2))


def _stats_backends():
    """HAProxy's statistics CSV as {backend: {server: status}}."""
    with urllib.request.urlopen("http://127.0.0.1:7000/;csv", timeout=5) as r:  # nosec - the lab's own port
        text = r.read().decode().lstrip("# ")
    backends = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["svname"] not in ("FRONTEND", "BACKEND"):
            backends.setdefault(row["pxname"], {})[row["svname"]] = row["status"]
    return backends


def _wait(predicate, timeout, step=1.0):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(step)


@pytest.mark.parametrize("topology", ["ha", "citus"])
def test_make_lab_end_to_end(topology, capsys):
    inventory = "lab_citus" if topology == "citus" else "lab"
    hosts = _inventory_hosts(inventory)
    reason = _precondition(topology, hosts)
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, PY_COLORS="0", ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    env.pop("DPG_LAB_DIR", None)
    if topology == "ha":
        env.pop("DPG_CITUS_IMAGE", None)
    figures = []
    try:
        rc, out, first_s = _make("lab", env, 2400)
        assert rc == 0, out[-6000:]
        first_changed = _changed(out)
        figures.append("LAB %s first make lab: %.0f s, %d changed tasks" % (topology, first_s, first_changed))
        TIMINGS.append(("lab " + topology, "make lab", first_s))

        # psql through the published read-write endpoint, as the application role
        marker = "e2e-%d" % time.time_ns()
        rc, dummy, err = _psql("CREATE TABLE IF NOT EXISTS lab_e2e (id bigserial PRIMARY KEY, marker text NOT NULL); "
                               "INSERT INTO lab_e2e (marker) VALUES ('%s')" % marker)
        assert rc == 0, err
        rc, user, err = _psql("SELECT current_user || ' ' || pg_is_in_recovery()")
        assert rc == 0 and user == "dpg_app false", (user, err)
        # endpoints.env asks for verify-full against the lab's CA; plaintext is refused
        res = _user_shell('[ "$PGSSLMODE" = verify-full ] && [ -s "$PGSSLROOTCERT" ] && '
                          'PGSSLMODE=disable psql -X -Atc "SELECT 1"')
        assert res.returncode != 0 and "SSL required" in res.stderr, (res.returncode, res.stderr)

        # read back through the read-only endpoint once replicated, from a replica
        def replicated():
            code, got, dummy = _psql("SELECT pg_is_in_recovery(), count(*) FROM lab_e2e WHERE marker = '%s'"
                                     % marker, "DPG_RO_PGPORT")
            return code == 0 and got == "t|1"
        assert _wait(replicated, 30), _psql("SELECT pg_is_in_recovery()", "DPG_RO_PGPORT")
        rc, dummy, err = _psql("INSERT INTO lab_e2e (marker) VALUES ('must-fail')", "DPG_RO_PGPORT")
        assert rc != 0 and "read-only" in err, err

        # HAProxy's statistics page lists every backend with every routed node, one primary UP
        backends = _stats_backends()
        nodes = [h for h in hosts if h.startswith(("dpg-pg", "dpg-coord"))]
        for name in ("primary", "replicas", "replicas_fallback"):
            assert name in backends, backends
            assert sorted(backends[name]) == sorted(nodes), (name, backends[name])
        assert list(backends["primary"].values()).count("UP") == 1, backends["primary"]
        assert list(backends["replicas"].values()).count("UP") == len(nodes) - 1, backends["replicas"]

        # Prometheus through its published endpoint (HTTPS against the lab CA): every target up
        prom = _user_shell('echo "$DPG_PROMETHEUS_URL $PGSSLROOTCERT"').stdout.split()
        assert len(prom) == 2 and prom[0].startswith("https://127.0.0.1:9090"), prom
        context = ssl.create_default_context(cafile=prom[1])

        def prometheus(path):
            with urllib.request.urlopen(prom[0] + path, context=context, timeout=10) as r:  # nosec - the lab's own port
                return json.loads(r.read().decode())["data"]

        def all_up():
            targets = prometheus("/api/v1/targets?state=active")["activeTargets"]
            return targets if targets and all(t["health"] == "up" for t in targets) else None
        targets = _wait(all_up, 180, step=3)
        assert targets, [(t["labels"]["job"], t["labels"]["instance"], t["lastError"])
                         for t in prometheus("/api/v1/targets?state=active")["activeTargets"] if t["health"] != "up"]
        assert {t["labels"]["instance"] for t in targets} == set(hosts), targets
        # a rate needs two scrapes of Prometheus itself within the window
        samples = _wait(lambda: prometheus("/api/v1/query?query=" + urllib.parse.quote(
            "rate(prometheus_tsdb_head_samples_appended_total[1m])"))["result"], 90, step=5)
        assert samples, "Prometheus reports no ingestion rate"
        # postgres_exporter's own queries and the collection's custom ones run without an error
        errors = prometheus("/api/v1/query?query=" + urllib.parse.quote("max(pg_exporter_last_scrape_error)"))["result"]
        assert errors and float(errors[0]["value"][1]) == 0, errors
        if topology == "citus":
            def count(metric):
                got = prometheus("/api/v1/query?query=" + urllib.parse.quote("count(%s)" % metric))["result"]
                return int(float(got[0]["value"][1])) if got else 0
            # the coordinator's primary reports every group; every group's primary its own shards
            assert _wait(lambda: count("citus_nodes_active") == 3 and count("citus_local_shards_bytes") == 3
                         and count("citus_shard_skew_percent") == 1, 90, step=5), \
                [(m, count(m)) for m in ("citus_nodes_active", "citus_local_shards_bytes", "citus_shard_skew_percent")]
        figures.append("LAB %s Prometheus: %d targets up on %d hosts, %.0f samples/s appended"
                       % (topology, len(targets), len(hosts), float(samples[0]["value"][1])))

        if topology == "citus":
            rc, got, err = _psql("SELECT extversion FROM pg_extension WHERE extname = 'citus'")
            assert rc == 0 and got, err
            rc, got, err = _psql("SELECT count(*) FROM pg_dist_partition "
                                 "WHERE logicalrelid = 'local.system_config'::regclass")
            assert rc == 0 and got == "0", "local.system_config must stay a plain table: %s %s" % (got, err)
            rc, got, err = _psql("SELECT count(*) FROM local.system_config")
            assert rc == 0 and int(got) >= 2, err
            # citus_info, as an operator calls it, through the coordinator endpoint as dpg_app
            res = _user_shell(
                "ANSIBLE_COLLECTIONS_PATH=%s/build/collections ANSIBLE_CONFIG=%s/ansible.cfg "
                "ANSIBLE_STDOUT_CALLBACK=json ANSIBLE_LOAD_CALLBACK_PLUGINS=1 "
                "%s/ansible localhost -c local -i localhost, -m dpg.cluster.citus_info "
                "-a 'login_host=127.0.0.1 login_port=5000 login_user=dpg_app login_db=dpg "
                "ssl_mode=verify-full ca_cert=%s/ca.crt' "
                "-e ansible_python_interpreter=%s" % (ROOT, ROOT, BIN, LAB_DIR, sys.executable))
            assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
            groups = sorted({n["groupid"] for n in yaml.safe_load(res.stdout)["plays"][0]["tasks"][0]
                             ["hosts"]["localhost"]["nodes"] if n["isactive"] and n["noderole"] == "primary"})
            assert groups == [0, 1, 2], groups
            figures.append("LAB citus: coordinator answers through :5000, citus_info sees groups %s" % groups)

        rc, out, second_s = _make("lab", env, 1800)
        assert rc == 0, out[-6000:]
        second_changed = _changed(out)
        figures.append("LAB %s second make lab: %.0f s, %d changed tasks" % (topology, second_s, second_changed))
        TIMINGS.append(("lab " + topology, "make lab again", second_s))
        assert second_changed == 0, out[-6000:]
    finally:
        rc, out, down_s = _make("lab-down", env, 600)
        figures.append("LAB %s make lab-down: %.0f s (rc %d)" % (topology, down_s, rc))
        TIMINGS.append(("lab " + topology, "make lab-down", down_s))
        with capsys.disabled():
            print("\n" + "\n".join(figures))
    left = [h for h in hosts if docker("container", "inspect", h).returncode == 0]
    assert rc == 0, out[-4000:]
    assert not left, "containers left after make lab-down: %s" % left
    assert docker("network", "inspect", "dpg-lab").returncode != 0, "network dpg-lab left after make lab-down"
    assert not os.path.exists(LAB_DIR), ".lab/ left after make lab-down"
