"""The lab's container list: the filter, and both lab inventories read as `make lab` reads them."""

import json
import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.lab_containers import lab_containers

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
BIN = os.path.dirname(sys.executable)


def test_filter_keeps_order_and_defaults_to_no_ports():
    hostvars = {"a": {}, "b": {"lab_published_ports": ["127.0.0.1:5000:5000"]}, "c": {"lab_published_ports": None}}
    assert lab_containers(["b", "a", "c"], hostvars) == [
        {"name": "b", "published_ports": ["127.0.0.1:5000:5000"]},
        {"name": "a", "published_ports": []},
        {"name": "c", "published_ports": []},
    ]


def test_filter_rejects_unknown_host_and_bad_ports():
    with pytest.raises(AnsibleFilterError, match="not in hostvars"):
        lab_containers(["x"], {})
    with pytest.raises(AnsibleFilterError, match="list of port strings"):
        lab_containers(["a"], {"a": {"lab_published_ports": "127.0.0.1:5000:5000"}})


@pytest.mark.parametrize("inventory, balancer", [("lab", "dpg-lb1"), ("lab_citus", "dpg-lb1")])
def test_lab_inventory_publishes_the_balancer_and_monitoring_ports(inventory, balancer):
    """The expression lab/lab.yml and lab/down.yml use, evaluated by ansible-core on the real inventory."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", NO_COLOR="1")
    res = subprocess.run(
        [os.path.join(BIN, "ansible"), "-i", os.path.join(ROOT, "inventories", inventory), "localhost",
         "-m", "ansible.builtin.debug", "-a", "msg={{ groups['all'] | dpg.cluster.lab_containers(hostvars) }}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout)
    containers = out["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    ports = {c["name"]: c["published_ports"] for c in containers}
    assert ports[balancer] == ["127.0.0.1:5000:5000", "127.0.0.1:5001:5001", "127.0.0.1:7000:7000"]
    assert ports["dpg-mon1"] == ["127.0.0.1:9090:9090", "127.0.0.1:9093:9093"]
    assert all(not p for name, p in ports.items() if name not in (balancer, "dpg-mon1"))
