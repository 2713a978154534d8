"""health_check.yml's Traefik rows, evaluated by Ansible on answers in the shape of Traefik's API.

No Traefik runs here (no binary is reachable): the task that records the balancer's checks is taken
from playbooks/ops/health_check.yml as it is and run on localhost with /ping and /api/tcp/{routers,
services} answers registered in advance, one healthy and two broken.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
           ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")

ROUTERS = [{"name": n + "@file", "provider": "file", "status": "enabled"} for n in ("primary", "replicas", "coordinator")] \
    + [{"name": "api@internal", "provider": "internal", "status": "enabled"}]


def _services(primary_status):
    return [{"name": "primary@file", "provider": "file", "serverStatus": primary_status},
            {"name": "api@internal", "provider": "internal"}]


def _checks(tmp_path, routers, services, ping=200):
    with open(os.path.join(ROOT, "playbooks", "ops", "health_check.yml"), encoding="utf-8") as f:
        play = [p for p in yaml.safe_load(f) if p["name"] == "Health check - balancers"][0]
    task = [t for t in play["tasks"] if t["name"] == "Record the balancer's checks"][0]
    answers = {"__traefik_ping": {"status": ping},
               "__traefik_api_out": {"results": [{"item": "routers", "json": routers},
                                                 {"item": "services", "json": services}]}}
    plays = [{"hosts": "lb1", "gather_facts": False, "vars": dict(play["vars"], **answers), "tasks": [task]}]
    (tmp_path / "play.yml").write_text(json.dumps(plays))
    inv = {"all": {"children": {
        "postgres": {"hosts": {"pg1": {"ansible_host": "10.0.0.1", "__cluster": {"leader": "pg1"}},
                               "pg2": {"ansible_host": "10.0.0.2"}}},
        "balancers": {"hosts": {"lb1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                        "dpg_balancer_proxies": ["traefik"],
                                        "traefik_install_method": "preinstalled"}}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inv))
    res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                          str(tmp_path / "play.yml")], capture_output=True, text=True, env=ENV, timeout=120, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    facts = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"]["lb1"]["ansible_facts"]
    return dict((c["check"], c["ok"]) for c in facts["__checks"])


def test_healthy_traefik_passes(tmp_path):
    checks = _checks(tmp_path, ROUTERS, _services({"10.0.0.1:6432": "UP", "10.0.0.2:6432": "DOWN"}))
    assert checks == {"traefik /ping answers": True, "traefik TCP routers enabled": True,
                      "traefik primary route: the leader only": True}


@pytest.mark.parametrize("routers,status,ping,failing", [
    # the seeds' failure: routers present but disabled (missing entry point), /ping fine
    ([dict(r, status="disabled") for r in ROUTERS], {"10.0.0.1:6432": "UP"}, 200, "traefik TCP routers enabled"),
    # a replica still UP in the read-write route
    (ROUTERS, {"10.0.0.1:6432": "UP", "10.0.0.2:6432": "UP"}, 200, "traefik primary route: the leader only"),
    # Traefik down
    ([], {}, -1, "traefik /ping answers"),
])
def test_broken_traefik_fails_the_row(tmp_path, routers, status, ping, failing):
    checks = _checks(tmp_path, routers, _services(status) if status else [], ping=ping)
    assert checks[failing] is False, checks
