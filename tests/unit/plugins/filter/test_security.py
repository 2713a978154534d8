"""Security filters: pg_hba lines, the subject alternative names of host certificates, and missing ones."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.security import (
    FilterModule, pg_hba, pgpass, tls_missing_sans, tls_subject_alt_names)

USERS = [
    {"name": "app", "password": "secret", "databases": ["app"], "profile": "owner"},
    {"name": "report", "databases": ["app", "stats"], "profile": "readonly"},
    {"name": "group_role", "login": False},
]
REJECT = ["local all all reject", "host all all 0.0.0.0/0 reject", "host all all ::/0 reject"]


def test_pg_hba_order_with_tls():
    lines = pg_hba(USERS, ["10.0.0.0/24"], ["10.0.0.11/32", "10.0.0.12/32"], extra=["local all monitor peer"])
    assert lines == [
        "local all postgres peer map=dpg_superuser",
        "local all monitor peer",
        "local app app scram-sha-256",
        "local app,stats report scram-sha-256",
        "hostssl replication replicator 127.0.0.1/32 scram-sha-256",
        "hostssl postgres rewind_user 127.0.0.1/32 scram-sha-256",
        "hostssl replication replicator 10.0.0.11/32 scram-sha-256",
        "hostssl postgres rewind_user 10.0.0.11/32 scram-sha-256",
        "hostssl replication replicator 10.0.0.12/32 scram-sha-256",
        "hostssl postgres rewind_user 10.0.0.12/32 scram-sha-256",
        "hostssl app app 127.0.0.1/32 scram-sha-256",
        "hostssl app app 10.0.0.0/24 scram-sha-256",
        "hostssl app,stats report 127.0.0.1/32 scram-sha-256",
        "hostssl app,stats report 10.0.0.0/24 scram-sha-256",
    ] + REJECT
    assert not any("group_role" in line for line in lines)
    assert not any("password" in line or "secret" in line for line in lines)


def test_pg_hba_without_tls_and_custom_names():
    lines = pg_hba([{"name": "app", "databases": ["app"]}], [], ["10.0.0.11/32"], superuser="dba",
                   replication_user="repl", rewind_user="rw", tls=False)
    assert lines == [
        "local all dba peer map=dpg_superuser",
        "local app app scram-sha-256",
        "host replication repl 127.0.0.1/32 scram-sha-256",
        "host postgres rw 127.0.0.1/32 scram-sha-256",
        "host replication repl 10.0.0.11/32 scram-sha-256",
        "host postgres rw 10.0.0.11/32 scram-sha-256",
        "host app app 127.0.0.1/32 scram-sha-256",
    ] + REJECT
    assert not any(line.startswith("hostssl") for line in lines)
    assert pg_hba([], [], [], tls="false") == pg_hba([], [], [], tls=False)


def test_pg_hba_citus_admits_superuser_and_users_from_members():
    lines = pg_hba([{"name": "app", "databases": ["citus"]}], ["192.168.1.0/24"], ["10.0.0.11/32"], citus=True)
    member = [line for line in lines if "10.0.0.11/32" in line]
    assert member == [
        "hostssl replication replicator 10.0.0.11/32 scram-sha-256",
        "hostssl postgres rewind_user 10.0.0.11/32 scram-sha-256",
        "hostssl all postgres 10.0.0.11/32 scram-sha-256",
        "hostssl citus app 10.0.0.11/32 scram-sha-256",
    ]
    # The loopback member line comes before the client lines; the client 127.0.0.1 line is then a duplicate.
    assert lines.index("hostssl all postgres 127.0.0.1/32 scram-sha-256") < lines.index(member[0])
    assert lines.count("hostssl citus app 127.0.0.1/32 scram-sha-256") == 1
    assert lines[-4] == "hostssl citus app 192.168.1.0/24 scram-sha-256"
    # Without Citus the superuser never gets a network line.
    plain = pg_hba([{"name": "app", "databases": ["citus"]}], [], ["10.0.0.11/32"])
    assert [line for line in plain if " all postgres " in line and not line.startswith("local")] == []
    assert "hostssl citus app 10.0.0.11/32 scram-sha-256" not in plain


def test_pg_hba_quotes_names_that_are_not_plain_identifiers_or_are_keywords():
    users = [{"name": "App-User", "databases": ["all", "sales$2024", "Sales", "replication"]},
             {"name": "all", "databases": ["samerole"]},
             {"name": "+group", "databases": ["db"]},
             {"name": "_ok$1", "databases": ["with,comma"]}]
    lines = pg_hba(users, [], [])
    assert 'local "all",sales$2024,"Sales","replication" "App-User" scram-sha-256' in lines
    assert 'local "samerole" "all" scram-sha-256' in lines
    assert 'local db "+group" scram-sha-256' in lines
    assert 'local "with,comma" _ok$1 scram-sha-256' in lines


def test_pg_hba_ipv6_normalization_and_dedup():
    lines = pg_hba([{"name": "app", "databases": ["app"]}],
                   ["10.0.0.5/24", "10.0.0.0/24", "FD00:0:0:0::1/64", "127.0.0.1"],
                   ["fd00::11/128", "FD00::11/128", "127.0.0.1/32"],
                   extra=["local all postgres peer map=dpg_superuser", "local all monitor peer",
                          "local all monitor peer"])
    assert lines == [
        "local all postgres peer map=dpg_superuser",
        "local all monitor peer",
        "local app app scram-sha-256",
        "hostssl replication replicator 127.0.0.1/32 scram-sha-256",
        "hostssl postgres rewind_user 127.0.0.1/32 scram-sha-256",
        "hostssl replication replicator fd00::11/128 scram-sha-256",
        "hostssl postgres rewind_user fd00::11/128 scram-sha-256",
        "hostssl app app 127.0.0.1/32 scram-sha-256",
        "hostssl app app 10.0.0.0/24 scram-sha-256",
        "hostssl app app fd00::/64 scram-sha-256",
    ] + REJECT


def test_pg_hba_login_flags():
    users = [{"name": "a", "login": "no"}, {"name": "b", "role_attr_flags": "NOLOGIN,INHERIT"},
             {"name": "c", "databases": ["c"], "login": "yes"}]
    lines = pg_hba(users, [], [])
    assert "local c c scram-sha-256" in lines
    assert not any(" a " in line or " b " in line for line in lines)


@pytest.mark.parametrize("users, kwargs, match", [
    ("app", {}, "users \\(dpg_users\\) must be a list"),
    ([{"databases": ["app"]}], {}, "needs a name"),
    ([{"name": "app"}], {}, "user app can log in but has no databases"),
    ([{"name": "app", "databases": []}], {}, "user app can log in but has no databases"),
    ([{"name": "app", "databases": "app"}], {}, "user app can log in but has no databases"),
    ([{"name": "app", "databases": ["app"], "profile": "admin"}], {}, "user app has profile 'admin'; use one of"),
    ([{"name": "postgres", "databases": ["app"]}], {}, "postgres of dpg_users is the superuser, which Patroni"),
    ([{"name": "replicator", "databases": ["app"]}], {}, "is the replication user, which Patroni"),
    ([{"name": "rewind_user", "databases": ["app"]}], {}, "is the rewind user, which Patroni"),
    ([{"name": "dba", "databases": ["app"]}], {"superuser": "dba"}, "is the superuser"),
    ([{"name": 'a"b', "databases": ["app"]}], {}, "user name 'a\"b' contains a double quote"),
    ([{"name": "a b", "databases": ["app"]}], {}, "contains a double quote, whitespace"),
    ([{"name": "app", "databases": ["x\ny"]}], {}, "database of user app 'x\\\\ny' contains"),
    ([{"name": "u" * 64, "databases": ["app"]}], {}, "longer than 63 bytes"),
    ([{"name": "app", "databases": ["\u00e9" * 32]}], {}, "longer than 63 bytes"),
    ([{"name": "app", "login": "maybe", "databases": ["app"]}], {}, "login of user app must be a boolean"),
    ([], {"extra": ["   "]}, "every extra line"),
    ([], {"extra": ["host all all 0.0.0.0/0 trust\nlocal all all trust"]}, "every extra line"),
    ([], {"extra": [None]}, "every extra line"),
    ([], {"extra": "local all all trust"}, "extra \\(patroni_pg_hba_extra\\) must be a list"),
    ([], {"tls": "sometimes"}, "tls and citus must be booleans"),
])
def test_pg_hba_errors(users, kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        pg_hba(users, ["10.0.0.0/24"], ["10.0.0.11/32"], **kwargs)


def test_pg_hba_bad_networks():
    with pytest.raises(AnsibleFilterError, match="client network .*'10.0.0.0/33' is not an IPv4 or IPv6 network"):
        pg_hba([], ["10.0.0.0/33"], [])
    with pytest.raises(AnsibleFilterError, match="member address 'pg1' is not"):
        pg_hba([], [], ["pg1"])
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        pg_hba([], "10.0.0.0/24", [])


def test_pg_hba_max_length_names_are_accepted():
    lines = pg_hba([{"name": "u" * 63, "databases": ["d" * 63]}], [], [])
    assert "local %s %s scram-sha-256" % ("d" * 63, "u" * 63) in lines


HOSTVARS = {
    "pg1": {"ansible_host": "10.0.0.11",
            "ansible_facts": {"hostname": "pg1", "fqdn": "pg1.example.com",
                              "default_ipv4": {"address": "10.0.0.11"}}},
    "pg2": {"dpg_address": "FD00:0::12", "ansible_host": "pg2.example.com."},
    "lb1": {"ansible_host": "192.168.1.5",
            "ansible_facts": {"hostname": "LB1", "fqdn": "lb1.example.com", "default_ipv4": {}}},
    "bare": {"ansible_host": "", "ansible_facts": {}},
    "spaced": {"ansible_host": "bad host"},
}


def test_sans_own_names_then_localhost():
    assert tls_subject_alt_names("pg1", HOSTVARS) == [
        "DNS:pg1", "IP:10.0.0.11", "DNS:pg1.example.com", "DNS:localhost", "IP:127.0.0.1"]
    assert tls_subject_alt_names("pg2", HOSTVARS) == [
        "DNS:pg2", "DNS:pg2.example.com", "IP:fd00::12", "DNS:localhost", "IP:127.0.0.1"]
    assert tls_subject_alt_names("bare", HOSTVARS) == ["DNS:bare", "DNS:localhost", "IP:127.0.0.1"]


def test_sans_also_and_extra():
    sans = tls_subject_alt_names("pg1", HOSTVARS, also=["lb1", "pg1"],
                                 extra=["DNS:db.example.com", "IP:10.0.0.100", "10.0.0.101", "*.pg.example.com",
                                        "dns:DB.example.com", "2001:DB8::1", "ip:127.0.0.1", "DNS:10.9.9.9"])
    assert sans == [
        "DNS:pg1", "IP:10.0.0.11", "DNS:pg1.example.com", "DNS:localhost", "IP:127.0.0.1",
        "DNS:lb1", "IP:192.168.1.5", "DNS:lb1.example.com",
        "DNS:db.example.com", "IP:10.0.0.100", "IP:10.0.0.101", "DNS:*.pg.example.com", "IP:2001:db8::1",
        "DNS:10.9.9.9",
    ]


@pytest.mark.parametrize("host, kwargs, match", [
    ("nope", {}, "host 'nope' is not in the inventory"),
    ("pg1", {"also": ["nope"]}, "host 'nope' is not in the inventory"),
    ("  ", {}, "host name is empty"),
    ("pg1", {"also": [""]}, "host name is empty"),
    ("spaced", {}, "ansible_host of spaced 'bad host' is empty or contains whitespace"),
    ("pg1", {"extra": ["DNS:"]}, "extra subject alternative name 'DNS:' is empty"),
    ("pg1", {"extra": ["IP:pg1.example.com"]}, "is not an IP address"),
    ("pg1", {"extra": ["URI:https://x"]}, "neither a DNS name nor an IP address"),
    ("pg1", {"extra": "DNS:x"}, "extra must be a list"),
    ("pg1", {"also": "lb1"}, "also must be a list"),
])
def test_sans_errors(host, kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        tls_subject_alt_names(host, HOSTVARS, **kwargs)


def test_missing_sans_normalizes_ips_and_ignores_dns_case():
    present = ["DNS:PG1.Example.com", "IP:10.0.0.11", "IP:FD00:0:0:0:0:0:0:12", "email:ops@example.com",
               "DNS:localhost."]
    required = ["DNS:pg1.example.com", "IP:10.0.0.11", "IP:fd00::12", "DNS:localhost", "IP:127.0.0.1", "DNS:pg1"]
    assert tls_missing_sans(present, required) == ["IP:127.0.0.1", "DNS:pg1"]
    assert tls_missing_sans(None, ["DNS:pg1"]) == ["DNS:pg1"]
    assert tls_missing_sans(present, []) == []


def test_missing_sans_wildcard_covers_one_label():
    present = ["DNS:*.example.com"]
    required = ["DNS:pg1.example.com", "DNS:example.com", "DNS:a.pg1.example.com", "DNS:*.example.com",
                "IP:10.0.0.1", "DNS:pg1"]
    assert tls_missing_sans(present, required) == [
        "DNS:example.com", "DNS:a.pg1.example.com", "IP:10.0.0.1", "DNS:pg1"]
    # A required wildcard is covered only by the same wildcard, not by a name under it.
    assert tls_missing_sans(["DNS:a.example.com"], ["DNS:*.example.com"]) == ["DNS:*.example.com"]
    # An IP written as a DNS name does not cover the IP entry.
    assert tls_missing_sans(["DNS:10.0.0.1"], ["IP:10.0.0.1"]) == ["IP:10.0.0.1"]


def test_missing_sans_round_trip_and_errors():
    required = tls_subject_alt_names("pg1", HOSTVARS, also=["lb1"])
    assert tls_missing_sans(required, required) == []
    assert tls_missing_sans(required[:-1], required) == [required[-1]]
    with pytest.raises(AnsibleFilterError, match="must be lists"):
        tls_missing_sans("DNS:pg1", ["DNS:pg1"])
    with pytest.raises(AnsibleFilterError, match="tls_missing_sans: required subject alternative name 'IP:x'"):
        tls_missing_sans([], ["IP:x"])


def test_filters_registered():
    filters = FilterModule().filters()
    assert filters["pg_hba"] is pg_hba
    assert filters["tls_subject_alt_names"] is tls_subject_alt_names
    assert filters["tls_missing_sans"] is tls_missing_sans
    assert filters["pgpass"] is pgpass


# Every printable ASCII character but the letters and digits, as a password manager may produce them.
AWKWARD = "".join(ch for ch in map(chr, range(32, 127)) if not ch.isalnum())


def _libpq_fields(line):
    """A password file line split as libpq reads it (fe-connect.c, passwordFromFile): a backslash takes the
    next character literally, an unescaped colon ends a field."""
    fields, cur, i = [], "", 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            cur += line[i + 1]
            i += 2
            continue
        if line[i] == ":" and len(fields) < 4:
            fields.append(cur)
            cur = ""
        else:
            cur += line[i]
        i += 1
    return fields + [cur]


def test_pgpass_escapes_colons_and_backslashes():
    assert pgpass([{"user": "app", "password": "a:b\\c"}]) == "*:*:*:app:a\\:b\\\\c\n"
    assert pgpass([{"host": "127.0.0.1", "port": 5000, "database": "app", "user": "app", "password": "p"},
                   {"host": "", "user": "u", "password": "q"}]) == "127.0.0.1:5000:app:app:p\n*:*:*:u:q\n"
    assert pgpass([]) == ""


@pytest.mark.parametrize("password", [AWKWARD, "x" + AWKWARD + "\\", "\\:" * 5, "{{ not a template }}"])
def test_pgpass_round_trips_every_printable_character(password):
    text = pgpass([{"host": "db:1", "port": 5000, "database": "d\\b", "user": "us:er", "password": password}])
    assert text.endswith("\n") and text.count("\n") == 1
    assert _libpq_fields(text[:-1]) == ["db:1", "5000", "d\\b", "us:er", password]


@pytest.mark.parametrize("entries, match", [
    ("not a list", "expects a list"),
    ([{"user": "app"}], "entry 0 needs a user and a password"),
    ([{"password": "p"}], "entry 0 needs a user and a password"),
    ([{"user": "app", "password": "a\nb"}], "password of entry 0 holds a line break"),
])
def test_pgpass_errors(entries, match):
    with pytest.raises(AnsibleFilterError, match=match):
        pgpass(entries)
