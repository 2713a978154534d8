"""etcd scenario: every member healthy, one cluster, data replicated between members, over TLS
with client-certificate authentication (certificates from the dpg.cluster.tls role)."""

import json
import uuid

import testinfra

testinfra_hosts = ["ansible://etcd"]

TLS = "--cacert=/etc/etcd/tls/ca.crt --cert=/etc/etcd/tls/server.crt --key=/etc/etcd/tls/server.key"
ETCDCTL = "etcdctl --endpoints=https://127.0.0.1:2379 --dial-timeout=3s " + TLS


def test_service_running_and_enabled(host):
    svc = host.service("etcd")
    assert svc.is_running
    assert svc.is_enabled


def test_ports_listen(host):
    assert host.socket("tcp://127.0.0.1:2379").is_listening
    assert host.socket("tcp://0.0.0.0:2380").is_listening or any(
        s.endswith(":2380") for s in host.socket.get_listening_sockets())


def test_every_member_healthy(host):
    out = host.check_output(ETCDCTL + " endpoint health --cluster -w json")
    health = json.loads(out)
    assert len(health) == 3
    assert all(m["health"] for m in health), health


def test_three_members_one_cluster(host):
    members = json.loads(host.check_output(ETCDCTL + " member list -w json"))["members"]
    assert sorted(m["name"] for m in members) == ["mol-etcd1", "mol-etcd2", "mol-etcd3"]


def test_key_written_on_one_member_is_read_on_the_others():
    members = [testinfra.get_host("docker://mol-etcd%d" % i) for i in (1, 2, 3)]
    key = "/dpg-test/" + uuid.uuid4().hex
    value = uuid.uuid4().hex
    members[0].check_output(ETCDCTL + " put %s %s" % (key, value))
    try:
        for other in members[1:]:
            got = other.check_output(ETCDCTL + " get --print-value-only %s" % key)
            assert got.strip() == value
    finally:
        members[0].check_output(ETCDCTL + " del %s" % key)


def test_tls_files_owned_by_etcd(host):
    key = host.file("/etc/etcd/tls/server.key")
    assert key.user == "etcd" and key.mode == 0o600
    assert host.file("/etc/dpg/tls/node.key").mode == 0o600


def test_client_without_certificate_is_refused(host):
    """The CA alone (no client certificate) and plain http both fail; the full set works (above)."""
    since = host.check_output("date +%s").strip()
    no_cert = host.run("etcdctl --endpoints=https://127.0.0.1:2379 --dial-timeout=3s --command-timeout=5s "
                       "--cacert=/etc/etcd/tls/ca.crt get /x")
    assert no_cert.rc != 0
    # With TLS 1.3 the server checks the client certificate after the client has finished its side of
    # the handshake, so the client may see only "broken pipe"; the server's log names the reason.
    client_says = "certificate" in (no_cert.stderr + no_cert.stdout).lower()
    server_log = host.run("journalctl -u etcd --no-pager -o cat --since @%s" % (int(since) - 1)).stdout
    assert client_says or "provide a certificate" in server_log, (no_cert.stderr, server_log[-2000:])
    plain = host.run("etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=3s --command-timeout=5s get /x")
    assert plain.rc != 0, plain.stdout


def test_peer_urls_are_https(host):
    members = json.loads(host.check_output(ETCDCTL + " member list -w json"))["members"]
    for m in members:
        assert all(u.startswith("https://") for u in m["peerURLs"] + m["clientURLs"]), m
