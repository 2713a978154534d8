"""Topology filters: a host's address, Citus groups, Patroni members, pg_hba addresses, HAProxy CSV."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.topology import (
    citus_group_hosts, citus_groups, haproxy_backends, host_address, member_addresses, patroni_members,
    pgbackrest_stanza, pgbackrest_stanzas)

HOSTVARS = {
    "c1": {"citus_group": 0, "dpg_address": "10.0.0.1"},
    "c2": {"citus_group": "0", "ansible_host": "10.0.0.2"},
    "w1a": {"citus_group": 1, "ansible_facts": {"default_ipv4": {"address": "10.0.1.1"}}},
    "w1b": {"citus_group": 1, "ansible_host": "w1b.example.net",
            "ansible_facts": {"default_ipv4": {"address": "10.0.1.2"}}},
    "lb": {},
}
PG = ["c1", "c2", "w1a", "w1b"]


def test_host_address_precedence():
    assert host_address("c1", HOSTVARS) == "10.0.0.1"
    assert host_address("c2", HOSTVARS) == "10.0.0.2"
    assert host_address("w1b", HOSTVARS) == "w1b.example.net"
    assert host_address("lb", HOSTVARS) == "lb"
    with pytest.raises(AnsibleFilterError, match="not in the inventory"):
        host_address("nope", HOSTVARS)


def test_citus_groups_and_members():
    assert citus_group_hosts(PG + ["lb"], HOSTVARS, 0) == ["c1", "c2"]
    assert citus_group_hosts(PG, HOSTVARS, "1") == ["w1a", "w1b"]
    assert citus_group_hosts(PG, HOSTVARS, 7) == []
    assert citus_groups(PG + ["lb"], HOSTVARS) == [0, 1]
    assert patroni_members(PG, HOSTVARS, "w1b", citus=True) == ["w1a", "w1b"]
    assert patroni_members(PG, HOSTVARS, "w1b", citus=False) == PG
    with pytest.raises(AnsibleFilterError, match="must be an integer"):
        citus_group_hosts(PG, HOSTVARS, "coordinator")
    with pytest.raises(AnsibleFilterError, match="citus_group of x must be an integer"):
        citus_group_hosts(["x"], {"x": {"citus_group": "one"}}, 1)


def test_member_addresses_prefers_ip_literals_then_facts():
    assert member_addresses(PG, HOSTVARS) == ["10.0.0.1/32", "10.0.0.2/32", "10.0.1.1/32", "10.0.1.2/32"]
    assert member_addresses(["a", "b"], {"a": {"dpg_address": "fd00::5"}, "b": {"dpg_address": "fd00::5"}}) == \
        ["fd00::5/128"]
    with pytest.raises(AnsibleFilterError, match="no IP address known for lb"):
        member_addresses(["lb"], HOSTVARS)


CSV = """# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status
stats,FRONTEND,,,0,1,2000,1,0,0,0,0,0,,,,,OPEN
primary,pg1,0,0,0,1,,1,0,0,,0,,0,0,0,0,UP
primary,pg2,0,0,0,1,,1,0,0,,0,,0,0,0,0,DOWN
primary,BACKEND,0,0,0,1,,1,0,0,,0,,0,0,0,0,UP
replicas,pg2,0,0,0,1,,1,0,0,,0,,0,0,0,0,UP
"""


def test_haproxy_backends_by_column_name():
    assert haproxy_backends(CSV) == {"primary": {"pg1": "UP", "pg2": "DOWN"}, "replicas": {"pg2": "UP"}}
    with pytest.raises(AnsibleFilterError, match="not HAProxy statistics CSV"):
        haproxy_backends("<html>503</html>")


def test_pgbackrest_stanzas_one_per_patroni_cluster():
    assert pgbackrest_stanzas(PG, HOSTVARS, "demo") == {"demo": PG}
    # with Citus, one per group, in group order (g10 after g2, not between g1 and g2)
    hv = dict(HOSTVARS, w10={"citus_group": 10}, w2={"citus_group": 2})
    got = pgbackrest_stanzas(["w10"] + PG + ["w2"], hv, "demo", citus=True)
    assert list(got) == ["demo-g0", "demo-g1", "demo-g2", "demo-g10"]
    assert got["demo-g0"] == ["c1", "c2"] and got["demo-g1"] == ["w1a", "w1b"]
    assert pgbackrest_stanza("w1b", HOSTVARS, "demo", citus=True) == "demo-g1"
    assert pgbackrest_stanza("w1b", HOSTVARS, "demo") == "demo"


def test_pgbackrest_stanzas_refuses_what_cannot_be_named():
    with pytest.raises(AnsibleFilterError, match="scope"):
        pgbackrest_stanzas(PG, HOSTVARS, "")
    with pytest.raises(AnsibleFilterError, match="lb has no citus_group"):
        pgbackrest_stanzas(PG + ["lb"], HOSTVARS, "demo", citus=True)
    with pytest.raises(AnsibleFilterError, match="lb has no citus_group"):
        pgbackrest_stanza("lb", HOSTVARS, "demo", citus=True)
