"""Scrape targets and labels from the inventory."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.monitoring import host_port, prometheus_scrape_targets

GROUPS = {"all": ["pg1", "pg2", "lb1", "bk1", "mon1"], "etcd": ["pg1", "pg2", "mon1"], "postgres": ["pg1", "pg2"],
          "balancers": ["lb1"], "backup": ["bk1"], "monitoring": ["mon1"]}
HOSTVARS = {"pg1": {"ansible_host": "10.0.0.1", "citus_group": 0, "patroni_synchronous_mode": True},
            "pg2": {"ansible_host": "10.0.0.2", "citus_group": 1, "patroni_synchronous_mode": "quorum"},
            "lb1": {}, "bk1": {"dpg_address": "10.0.0.9"}, "mon1": {}}


def _jobs(**kw):
    return dict((j["job_name"], j["targets"]) for j in prometheus_scrape_targets(GROUPS, HOSTVARS, "demo", **kw))


def test_jobs_targets_and_labels():
    jobs = _jobs()
    assert list(jobs) == ["node", "postgres", "pgbouncer", "patroni", "etcd", "haproxy", "pgbackrest", "prometheus",
                          "alertmanager"]
    assert [t["targets"] for t in jobs["node"]] == [["10.0.0.1:9100"], ["10.0.0.2:9100"], ["lb1:9100"],
                                                    ["10.0.0.9:9100"], ["mon1:9100"]]
    # a PostgreSQL node that is also an etcd member is `postgres`; mon1 is `monitoring` before `etcd`
    assert [t["labels"]["role"] for t in jobs["node"]] == ["postgres", "postgres", "balancer", "backup", "monitoring"]
    assert jobs["patroni"][0] == {"targets": ["10.0.0.1:8008"], "labels": {
        "cluster": "demo", "instance": "pg1", "role": "postgres", "citus_group": "0", "synchronous_mode": "true"}}
    assert jobs["patroni"][1]["labels"]["synchronous_mode"] == "quorum"
    assert jobs["etcd"][2] == {"targets": ["mon1:2379"], "labels": {"cluster": "demo", "instance": "mon1", "role": "etcd"}}
    assert jobs["pgbackrest"] == [{"targets": ["10.0.0.9:9854"],
                                   "labels": {"cluster": "demo", "instance": "bk1", "role": "backup"}}]
    # without Citus every PostgreSQL target is group 0
    assert {t["labels"]["citus_group"] for t in jobs["postgres"]} == {"0"}
    # etcd targets on a PostgreSQL host carry its group as well
    assert jobs["etcd"][0]["labels"]["citus_group"] == "0"


def test_citus_groups_and_ports():
    jobs = _jobs(citus=True, ports={"postgres_exporter": "9300"})
    assert [t["labels"]["citus_group"] for t in jobs["postgres"]] == ["0", "1"]
    assert jobs["postgres"][1]["targets"] == ["10.0.0.2:9300"]


def test_missing_groups_leave_jobs_out():
    jobs = dict((j["job_name"], j) for j in prometheus_scrape_targets({"postgres": ["pg1"]}, HOSTVARS, "demo"))
    assert list(jobs) == ["node", "postgres", "pgbouncer", "patroni"]


@pytest.mark.parametrize("groups, hostvars, kw, needle", [
    ({"postgres": ["pg1", "lb1"]}, HOSTVARS, {"citus": True}, "lb1 needs an integer citus_group"),
    ({"postgres": ["nope"]}, HOSTVARS, {}, "'nope' is not in the inventory"),
    ({"postgres": "pg1"}, HOSTVARS, {}, "group 'postgres' must be a list"),
    (GROUPS, HOSTVARS, {"ports": {"etcd": "x"}}, "port etcd must be an integer"),
])
def test_bad_input_names_the_problem(groups, hostvars, kw, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        prometheus_scrape_targets(groups, hostvars, "demo", **kw)


def test_ipv6_addresses_in_brackets_and_asynchronous_mode():
    hostvars = {"pg1": {"ansible_host": "2001:db8::1"}}
    jobs = dict((j["job_name"], j["targets"]) for j in prometheus_scrape_targets({"postgres": ["pg1"]}, hostvars, "d"))
    assert jobs["node"][0]["targets"] == ["[2001:db8::1]:9100"]
    assert jobs["patroni"][0]["labels"]["synchronous_mode"] == "false"
    assert host_port("10.0.0.1", "9093") == "10.0.0.1:9093"
    assert host_port("[::1]", 9093) == "[::1]:9093"
