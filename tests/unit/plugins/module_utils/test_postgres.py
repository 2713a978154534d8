"""_postgres: connection keywords (TLS included), the module frame and its error messages."""

import psycopg2
import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dpg.cluster.plugins.module_utils import _postgres

from tests.unit.fake_citus import FakeCitus, LostConnection, StatementTimeout
from tests.unit.helpers import run_module

BASE = dict(login_host="db1", login_port=5432, login_user="app", login_password="pw", login_db="app",
            login_unix_socket=None, connect_timeout=10)


def test_connection_kwargs_default_and_tls():
    kw = _postgres.connection_kwargs(dict(BASE, ssl_mode="prefer"))
    assert kw == dict(user="app", dbname="app", port=5432, connect_timeout=10, application_name="dpg.cluster",
                      sslmode="prefer", host="db1", password="pw")
    kw = _postgres.connection_kwargs(dict(BASE, ssl_mode="verify-full", ca_cert="/etc/ssl/ca.pem",
                                          ssl_cert="/etc/ssl/c.pem", ssl_key="/etc/ssl/c.key"))
    assert kw["sslmode"] == "verify-full" and kw["sslrootcert"] == "/etc/ssl/ca.pem"
    assert kw["sslcert"] == "/etc/ssl/c.pem" and kw["sslkey"] == "/etc/ssl/c.key"
    kw = _postgres.connection_kwargs(dict(BASE, login_unix_socket="/var/run/postgresql", login_password=None))
    assert kw["host"] == "/var/run/postgresql" and "password" not in kw


def test_argspec_has_the_tls_options():
    spec = _postgres.POSTGRES_ARGSPEC
    assert spec["ssl_mode"]["choices"] == ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    assert spec["ssl_mode"]["default"] == "prefer"
    assert spec["ca_cert"]["aliases"] == ["ssl_rootcert"] and spec["ssl_key"]["type"] == "path"


def _main_with(body, connect=True):
    def main():
        module = AnsibleModule(argument_spec=dict(_postgres.POSTGRES_ARGSPEC), supports_check_mode=True)
        _postgres.run_module(module, lambda session: body(module, session), connect=connect)
    return main


def test_frame_passes_tls_options_to_libpq(monkeypatch):
    seen = {}

    def connect(**kwargs):
        seen.update(kwargs)
        raise psycopg2.OperationalError("connection refused")
    monkeypatch.setattr(psycopg2, "connect", connect)
    res, failed = run_module(_main_with(lambda m, s: {}), dict(login_host="db1", ssl_mode="verify-full",
                                                               ca_cert="/ca.pem"))
    assert failed and seen["sslmode"] == "verify-full" and seen["sslrootcert"] == "/ca.pem"
    assert "cannot connect to PostgreSQL as postgres@db1:5432/postgres: connection refused" in res["msg"]
    assert "ssl_mode" in res["msg"] and res["queries"] == []


@pytest.fixture
def fake(monkeypatch):
    server = FakeCitus()
    monkeypatch.setattr(_postgres, "Session", server.connect)
    return server


def _reads_twice(module, session):
    session.execute("SELECT 1")
    session.execute("SELECT 2")
    return dict(changed=False)


def test_frame_returns_queries_and_closes(fake):
    res, failed = run_module(_main_with(_reads_twice), {})
    assert not failed and res["queries"] == ["SELECT 1", "SELECT 2"] and fake.closed


@pytest.mark.parametrize("fault,at,needle", [
    ("lose_connection_at", 2, "SELECT 2 failed: server closed the connection unexpectedly"),
    ("timeout_at", 2, "statement_timeout or lock_timeout"),
    ("lose_connection_at", 1, "the connection to postgres@"),
])
def test_frame_turns_server_errors_into_failures(fake, fault, at, needle):
    setattr(fake, fault, at)
    res, failed = run_module(_main_with(_reads_twice), {})
    assert failed and needle in res["msg"], res["msg"]
    assert len(res["queries"]) == at and fake.closed


def test_frame_module_failure_keeps_extra_keys(fake):
    def refuse(module, session):
        session.execute("SELECT 1")
        raise _postgres.ModuleFailure("not like that", state="read")
    res, failed = run_module(_main_with(refuse), {})
    assert failed and res["msg"] == "not like that" and res["state"] == "read" and res["queries"] == ["SELECT 1"]


def test_frame_without_connection(monkeypatch):
    monkeypatch.setattr(_postgres, "Session", lambda params: pytest.fail("connected"))
    res, failed = run_module(_main_with(lambda m, s: dict(changed=False, session=s is None), connect=False), {})
    assert not failed and res["session"] is True and res["queries"] == []


def test_describe_error_kinds():
    params = dict(login_user="u", login_host="h", login_port=5432, login_db="d")
    assert "lost" in _postgres.describe_error(LostConnection("gone"), "SELECT 1", params)
    assert "statement_timeout" in _postgres.describe_error(StatementTimeout("x"), "SELECT 1", params)
    assert _postgres.describe_error(psycopg2.OperationalError("refused"), None, params).startswith(
        "cannot connect to PostgreSQL as u@h:5432/d: refused")


def test_frame_turns_a_module_defect_into_a_failure(fake):
    def broken(module, session):
        session.execute("SELECT 1")
        return len(5)
    res, failed = run_module(_main_with(broken), {})
    assert failed and res["msg"].startswith("unexpected TypeError while running SELECT 1") and fake.closed
    assert "Traceback" not in res["msg"] and res["queries"] == ["SELECT 1"]
