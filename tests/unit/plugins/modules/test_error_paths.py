"""Every PostgreSQL module ends a server error in a clean failure: a refused login, the server going
away at each statement of a run (reads and writes), a statement timeout, and for the Citus modules a
database without Citus. Never a traceback, always the statement and what to check."""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils import _postgres
from ansible_collections.dpg.cluster.plugins.modules import (
    citus_distributed_table, citus_info, citus_migration_plan, citus_node, citus_rebalance, citus_tenant, pg_tune)

from tests.unit.helpers import run_module
from tests.unit.plugins.modules.conftest import make_citus

CASES = {
    "citus_distributed_table": (citus_distributed_table, dict(table="reference.regions", type="reference")),
    "citus_node": (citus_node, dict(node_name="w2a", state="drained")),
    "citus_info": (citus_info, dict()),
    "citus_rebalance": (citus_rebalance, dict(wait_timeout=5, poll_interval=1)),
    "citus_tenant": (citus_tenant, dict(table="distributed.users", tenant="42")),
    "citus_migration_plan": (citus_migration_plan, dict(schemas=["distributed", "reference"])),
    "pg_tune": (pg_tune, dict(profile="auto", memory_mb=4096, cpus=2)),
}
# citus_migration_plan reads a database before it has Citus: it needs none.
CITUS = [name for name in CASES if name.startswith("citus") and name != "citus_migration_plan"]


def _run(monkeypatch, name, **faults):
    module, args = CASES[name]
    fake = make_citus(citus=faults.pop("citus", True))
    for key, value in faults.items():
        setattr(fake, key, value)
    monkeypatch.setattr(_postgres, "Session", fake.connect)
    res, failed = run_module(module.main, dict(login_db="citus", **args))
    return fake, res, failed


def _clean(res):
    assert "Traceback" not in res["msg"] and "MODULE FAILURE" not in res["msg"], res["msg"]
    assert "queries" in res


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_normal_run_succeeds(monkeypatch, name):
    fake, res, failed = _run(monkeypatch, name)
    assert not failed, res
    assert fake.statements >= 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_login(monkeypatch, name):
    fake, res, failed = _run(monkeypatch, name, refuse_login=True)
    assert failed and "cannot connect to PostgreSQL as postgres@" in res["msg"] and "password authentication" in res["msg"]
    _clean(res)


@pytest.mark.parametrize("name", sorted(CASES))
def test_server_gone_at_every_statement(monkeypatch, name):
    count = _run(monkeypatch, name)[0].statements
    for n in range(1, count + 1):
        fake, res, failed = _run(monkeypatch, name, lose_connection_at=n)
        assert failed, (n, res)
        assert "server closed the connection unexpectedly" in res["msg"] and "lost" in res["msg"], (n, res["msg"])
        _clean(res)
        assert fake.closed


@pytest.mark.parametrize("name", sorted(CASES))
def test_statement_timeout(monkeypatch, name):
    count = _run(monkeypatch, name)[0].statements
    for n in range(1, count + 1):
        fake, res, failed = _run(monkeypatch, name, timeout_at=n)
        assert failed and "statement_timeout" in res["msg"], (n, res)
        _clean(res)


@pytest.mark.parametrize("name", CITUS)
def test_database_without_citus(monkeypatch, name):
    fake, res, failed = _run(monkeypatch, name, citus=False)
    assert failed and "citus extension is not installed" in res["msg"], res
    _clean(res)
