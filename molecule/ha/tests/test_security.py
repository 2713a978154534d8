"""ha scenario, security: TLS and access control proven by refusals as well as successes.

Clients connect as users do: from the machine running the tests, through the balancer's published ports
(127.0.0.1:DPG_RW_PORT / DPG_RO_PORT) and to the members' addresses on the scenario's Docker network, with
libpq's sslmode. The cluster CA is the scenario's lab directory's ca.crt; a foreign CA is made here.
"""

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request

import docker
import psycopg2
import pytest
import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "playbooks", "ops", "files"))
from adhoc import playbook  # noqa: E402  pylint: disable=wrong-import-position
from drill import report, wait  # noqa: E402  pylint: disable=wrong-import-position
from drill_probe import Probe  # noqa: E402  pylint: disable=wrong-import-position

RW_PORT = int(os.environ.get("DPG_RW_PORT", "15000"))
RO_PORT = int(os.environ.get("DPG_RO_PORT", "15001"))
STATS_PORT = int(os.environ.get("DPG_STATS_PORT", "17000"))
LAB_DIR = os.environ["DPG_LAB_DIR"]
NODES = os.environ.get("DPG_PG_NODES", "mol-ha-pg1,mol-ha-pg2,mol-ha-pg3").split(",")
BALANCER = os.environ.get("DPG_BALANCER", "mol-ha-lb1")
CA = os.path.join(LAB_DIR, "ca.crt")
DOCKER = docker.from_env()


def _secret(name):
    with open(os.path.join(LAB_DIR, "secrets", name)) as f:
        return f.read().split()[0]


def _ip(name):
    nets = DOCKER.containers.get(name).attrs["NetworkSettings"]["Networks"]
    return next(iter(nets.values()))["IPAddress"]


def _connect(host, port, user="dpg_app", secret="app", dbname="dpg", sslmode="verify-full", root=CA, **kw):
    return psycopg2.connect(host=host, port=port, dbname=dbname, user=user, password=_secret(secret),
                            sslmode=sslmode, sslrootcert=root, connect_timeout=5, **kw)


def _refused(**kw):
    """The libpq error text of a connection that must fail."""
    with pytest.raises(psycopg2.OperationalError) as err:
        _connect(**kw).close()
    return str(err.value)


@pytest.fixture(scope="module")
def foreign_ca(tmp_path_factory):
    """A CA that signed nothing in the cluster (openssl on the test machine)."""
    d = tmp_path_factory.mktemp("foreign")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"), "-days", "1",
                    "-subj", "/CN=foreign CA"], check=True, capture_output=True)
    return str(d / "ca.crt")


def test_verify_full_through_the_balancer():
    """The cluster CA verifies PgBouncer's certificate through 127.0.0.1 and the balancer's own address."""
    for host, port in (("127.0.0.1", RW_PORT), ("127.0.0.1", RO_PORT), (_ip(BALANCER), 5000), (_ip(BALANCER), 5001)):
        with _connect(host, port) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
            assert conn.info.ssl_in_use, (host, port)


def test_plaintext_refused_everywhere():
    """sslmode=disable: refused by PgBouncer behind :5000/:5001, by PgBouncer :6432 and PostgreSQL :5432."""
    member = _ip(NODES[0])
    for host, port in (("127.0.0.1", RW_PORT), ("127.0.0.1", RO_PORT), (member, 6432), (member, 5432)):
        msg = _refused(host=host, port=port, sslmode="disable")
        assert "SSL required" in msg or "no encryption" in msg or "pg_hba.conf" in msg, (host, port, msg)


def test_foreign_ca_fails_verification(foreign_ca):
    for host, port in (("127.0.0.1", RW_PORT), (_ip(NODES[0]), 5432)):
        msg = _refused(host=host, port=port, root=foreign_ca)
        assert "certificate verify failed" in msg, msg


def test_wrong_name_fails_verify_full():
    """A name the certificate does not carry fails verify-full at the same listening address that works by its
    own name above (libpq checks host, connects to hostaddr): only the name differs."""
    msg = _refused(host="not-in-the-certificate.invalid", hostaddr="127.0.0.1", port=RW_PORT)
    assert "does not match host name" in msg, msg
    # and the same connection by a name the certificate carries is accepted
    with _connect(host="localhost", hostaddr="127.0.0.1", port=RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")


def test_postgresql_encrypts_every_client_backend():
    with _connect(_ip(NODES[0]), 5432) as conn, conn.cursor() as cur:
        cur.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        ssl_on, version = cur.fetchone()
    assert ssl_on and version in ("TLSv1.2", "TLSv1.3"), version


def test_superuser_refused_over_the_network():
    for host, port in ((_ip(NODES[0]), 5432), ("127.0.0.1", RW_PORT)):
        msg = _refused(host=host, port=port, user="postgres", secret="superuser", dbname="postgres")
        # PostgreSQL: no pg_hba line; PgBouncer: its auth_query never returns a superuser's secret
        assert "pg_hba.conf" in msg or "SASL authentication failed" in msg, msg


def test_superuser_over_the_socket_only_as_postgres_or_root():
    """peer: the postgres OS user gets in over the socket, another OS user does not."""
    node = testinfra.get_host("docker://" + NODES[0])
    assert node.run("su postgres -c \"psql -Atc 'SELECT 1'\"").stdout.strip() == "1"
    other = node.run("su nobody -s /bin/sh -c \"psql -h /var/run/postgresql -U postgres -Atc 'SELECT 1'\"")
    assert other.rc != 0 and "Peer authentication failed" in other.stderr, other.stderr


def test_user_only_to_its_own_databases():
    for port in (RW_PORT,):
        msg = _refused(host="127.0.0.1", port=port, dbname="postgres")
        assert "pg_hba.conf" in msg or "no such database" in msg or "rejects" in msg, msg
    msg = _refused(host=_ip(NODES[0]), port=5432, dbname="postgres")
    assert "pg_hba.conf" in msg, msg


def test_readonly_reads_later_tables_and_cannot_write():
    table = "sec_ro_%d" % time.time_ns()
    with _connect("127.0.0.1", RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE %s (id int PRIMARY KEY)" % table)
        cur.execute("INSERT INTO %s VALUES (1)" % table)
    with _connect("127.0.0.1", RW_PORT, user="dpg_readonly", secret="readonly") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM %s" % table)
        assert cur.fetchone() == (1,)
    conn = _connect("127.0.0.1", RW_PORT, user="dpg_readonly", secret="readonly")
    try:
        with pytest.raises(psycopg2.Error) as err, conn.cursor() as cur:
            cur.execute("INSERT INTO %s VALUES (2)" % table)
        assert "permission denied" in str(err.value), err.value
    finally:
        conn.close()
    with _connect("127.0.0.1", RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE %s" % table)


def test_replication_from_a_non_member_refused():
    """This machine is on the client network but is not a member: no replication connection."""
    msg = _refused(host=_ip(NODES[0]), port=5432, user="replicator", secret="replication",
                   dbname="replication", replication="true")
    assert "pg_hba.conf" in msg, msg


def _rest(url, method="GET", body=None, cert=None, auth=None):
    ctx = ssl.create_default_context(cafile=CA)
    if cert:
        ctx.load_cert_chain(*cert)
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode())
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def client_cert(tmp_path_factory):
    """A client certificate for this machine, signed by the cluster CA (whose key is on this machine)."""
    d = tmp_path_factory.mktemp("client")
    key, csr, crt = (str(d / n) for n in ("c.key", "c.csr", "c.crt"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=test-client"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", CA, "-CAkey", os.path.join(LAB_DIR, "ca.key"),
                    "-CAcreateserial", "-out", crt, "-days", "1"], check=True, capture_output=True)
    return crt, key


def test_rest_api_refuses_unauthenticated_unsafe_requests(client_cert):
    """GET works with the CA only; PATCH/POST without a client certificate get 403, with one but without
    credentials 401; plain http gets no HTTP answer."""
    base = "https://%s:8008" % _ip(NODES[0])
    status, body = _rest(base + "/health")
    assert status in (200, 503), body
    for method, path, payload in (("PATCH", "/config", {"ttl": 20}), ("POST", "/restart", {})):
        assert _rest(base + path, method, payload)[0] == 403
    for method, path, payload in (("PATCH", "/config", {"ttl": 20}), ("POST", "/restart", {})):
        assert _rest(base + path, method, payload, cert=client_cert)[0] == 401
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen("http://%s:8008/health" % _ip(NODES[0]), timeout=5).read()


def test_haproxy_checks_pass_over_tls():
    """HAProxy's HTTPS checks of the REST API: one primary UP in the read-write backend, both replicas UP."""
    with urllib.request.urlopen("http://127.0.0.1:%d/;csv" % STATS_PORT, timeout=5) as r:  # nosec - own port
        rows = list(csv.DictReader(io.StringIO(r.read().decode().lstrip("# "))))
    up = [(r["pxname"], r["svname"]) for r in rows
          if r["status"] == "UP" and r["svname"] not in ("FRONTEND", "BACKEND")]
    assert sum(1 for b, s in up if b == "primary") == 1, up
    assert sum(1 for b, s in up if b == "replicas") == 2, up


def test_etcd_refuses_a_client_without_certificate():
    node = testinfra.get_host("docker://" + NODES[0])
    res = node.run("etcdctl --endpoints=https://127.0.0.1:2379 --dial-timeout=3s --command-timeout=5s "
                   "--cacert=/etc/etcd/tls/ca.crt get /service --prefix --keys-only")
    assert res.rc != 0, res.stdout
    ok = node.run("etcdctl --endpoints=https://127.0.0.1:2379 --dial-timeout=3s --cacert=/etc/etcd/tls/ca.crt "
                  "--cert=/etc/etcd/tls/server.crt --key=/etc/etcd/tls/server.key get /service --prefix --keys-only")
    assert ok.rc == 0 and "/service/" in ok.stdout, ok.stderr


def test_pgaudit_logs_ddl():
    table = "sec_audit_%d" % time.time_ns()
    with _connect("127.0.0.1", RW_PORT) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE %s (id int)" % table)
        cur.execute("DROP TABLE %s" % table)
    found = False
    for name in NODES:
        logs = DOCKER.containers.get(name).exec_run(["journalctl", "-u", "patroni", "--no-pager", "-n", "2000"])
        if ("AUDIT: SESSION" in logs.output.decode() and table in logs.output.decode()):
            found = True
    assert found, "no pgaudit line for %s in any member's log" % table


def test_certificate_files_modes():
    node = testinfra.get_host("docker://" + NODES[0])
    for path, user in (("/etc/patroni/tls/server.key", "postgres"), ("/etc/pgbouncer/tls/server.key", "postgres"),
                       ("/etc/etcd/tls/server.key", "etcd"), ("/etc/dpg/tls/node.key", "root")):
        f = node.file(path)
        assert f.user == user and f.mode == 0o600, (path, f.user, oct(f.mode))
    assert not node.file("/etc/dpg/tls/ca.key").exists


def _all_streaming():
    node = testinfra.get_host("docker://" + NODES[0])
    members = json.loads(node.check_output("patronictl -c /etc/patroni/config.yml list -f json"))
    return (sum(m["Role"] == "Leader" for m in members) == 1
            and sum(m["State"] == "streaming" for m in members) == len(NODES) - 1)


# -- rotation (last: it changes the scenario's secrets) ---------------------------------------------------------

def _new_secret(name):
    """Write a new random secret for ``name`` into the scenario's secrets file; return (old, new)."""
    old = _secret(name)
    new = base64.b32encode(os.urandom(20)).decode().rstrip("=")
    path = os.path.join(LAB_DIR, "secrets", name)
    with open(path, "w") as f:
        f.write(new + "\n")
    os.chmod(path, 0o600)
    return old, new


def _replication_login(member, target_ip, password):
    """Log in for replication from ``member`` (a member address, which pg_hba admits) to ``target_ip``; rc."""
    pgpass = "%s:5432:*:replicator:%s\n" % (target_ip, password)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("dpg-test-pgpass")
        info.size, info.mode = len(pgpass), 0o600
        tar.addfile(info, io.BytesIO(pgpass.encode()))
    ctr = DOCKER.containers.get(member)
    ctr.put_archive("/root", buf.getvalue())
    try:
        res = ctr.exec_run(["psql", "host=%s port=5432 user=replicator dbname=replication replication=true "
                            "sslmode=verify-full sslrootcert=/etc/patroni/tls/ca.crt connect_timeout=5" % target_ip,
                            "-c", "IDENTIFY_SYSTEM"], environment={"PGPASSFILE": "/root/dpg-test-pgpass"})
    finally:
        ctr.exec_run(["rm", "-f", "/root/dpg-test-pgpass"])
    return res.exit_code, res.output.decode()


def _leader_ip():
    for name in NODES:
        try:
            with _connect(_ip(name), 5432) as conn, conn.cursor() as cur:
                cur.execute("SELECT pg_is_in_recovery()")
                if not cur.fetchone()[0]:
                    return name, _ip(name)
        except psycopg2.Error:
            continue
    raise AssertionError("no member is writable")


INTERNAL_SECRETS = ("replication", "rewind", "superuser", "restapi")


def test_zz_rotate_every_internal_secret_without_write_errors(client_cert):
    """Rotate the four internal secrets (replication, rewind, superuser, REST API) in one rotate_credentials.yml
    run, as an operator rotates them together, while a writer inserts through :5000 every 50 ms: no write
    fails, no row is lost, and each new secret is in use and its old one refused."""
    secrets = {name: _new_secret(name) for name in INTERNAL_SECRETS}
    creds = dict(dbname="dpg", user="dpg_app", password=_secret("app"), sslmode="verify-full", sslrootcert=CA)
    probe = Probe(rw=dict(creds, host="127.0.0.1", port=RW_PORT), ro=dict(creds, host="127.0.0.1", port=RO_PORT),
                  table="dpg_rotation_probe", max_seconds=600)
    probe.start()
    started = time.time()
    rc, changed, out = playbook("playbooks/ops/rotate_credentials.yml")
    took = time.time() - started
    time.sleep(2)
    probe.stop()
    rep = probe.report()
    figures = (", ".join(INTERNAL_SECRETS), took, changed, rep["writes_acked"], rep["write_errors"],
               rep["write_outage_s"], rep["rows_lost"])
    report("ROTATION %s in one run: playbook %.1f s, %d changed; writer: %d rows acknowledged, %d errors, "
           "longest pause %.2f s, %d lost" % figures)
    assert rc == 0, out[-3000:]
    assert changed > 0, "nothing changed although every internal secret did"
    for old, new in secrets.values():
        assert new not in out and old not in out, "a secret is in the playbook's output"
    assert rep["write_errors"] == 0 and rep["rows_lost"] == 0, rep
    leader, leader_ip = _leader_ip()
    members = [n for n in NODES if n != leader]
    assert wait(_all_streaming, 60), "replicas do not stream after the rotation"
    old, new = secrets["replication"]
    assert _replication_login(members[0], leader_ip, new)[0] == 0
    rc_old, text = _replication_login(members[0], leader_ip, old)
    assert rc_old != 0 and "password authentication failed" in text, text
    old, new = secrets["restapi"]
    base = "https://%s:8008/config" % leader_ip
    # a PATCH of ttl to its current value changes nothing but needs the credentials
    same = {"ttl": json.loads(_rest(base)[1])["ttl"]}
    assert _rest(base, "PATCH", same, cert=client_cert, auth=("patroni", new))[0] == 200
    assert _rest(base, "PATCH", same, cert=client_cert, auth=("patroni", old))[0] == 401
    for secret, role in (("rewind", "rewind_user"), ("superuser", "postgres")):
        old, new = secrets[secret]
        res = DOCKER.containers.get(leader).exec_run(
            ["su", "postgres", "-c", "psql -Atc \"SELECT rolpassword FROM pg_authid WHERE rolname = '%s'\"" % role])
        stored = res.output.decode().strip()
        assert stored.startswith("SCRAM-SHA-256$") and _scram_matches(stored, new) \
            and not _scram_matches(stored, old), secret


def _scram_matches(stored, password):
    """Whether a SCRAM-SHA-256 verifier (pg_authid.rolpassword) was made from ``password`` (RFC 5802 / 7677)."""
    method, rest = stored.split("$", 1)
    iter_salt, keys = rest.split("$", 1)
    iterations, salt = iter_salt.split(":")
    stored_key, _server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return method == "SCRAM-SHA-256" and hashlib.sha256(client_key).digest() == base64.b64decode(stored_key)


def test_zz_rotate_application_password():
    """A user's new password works through the balancer at once; the old one is refused."""
    old, new = _new_secret("app")
    rc, changed, out = playbook("playbooks/ops/rotate_credentials.yml")
    assert rc == 0 and changed > 0, out[-3000:]
    assert new not in out and old not in out
    with psycopg2.connect(host="127.0.0.1", port=RW_PORT, dbname="dpg", user="dpg_app", password=new,
                          sslmode="verify-full", sslrootcert=CA, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(host="127.0.0.1", port=RW_PORT, dbname="dpg", user="dpg_app", password=old,
                         sslmode="verify-full", sslrootcert=CA, connect_timeout=5).close()
    # PgBouncer checks the password against the secret auth_query reads (a SASL exchange)
    assert "SASL authentication failed" in str(err.value) or "password authentication failed" in str(err.value), \
        err.value
