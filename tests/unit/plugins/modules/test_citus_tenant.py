"""citus_tenant against an in-memory coordinator (tests/unit/fake_citus.py)."""

import pytest

from ansible_collections.dpg.cluster.plugins.modules import citus_tenant

from tests.unit.helpers import run_module


# ---- citus_tenant ------------------------------------------------------------------------------

def test_isolate_tenant_then_idempotent(citus):
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", table="distributed.users", tenant="42"),
                             diff=True)
    assert not failed, res
    assert res["changed"] is True and res["isolated"] is True
    assert res["shard_after"]["min"] == res["shard_after"]["max"]
    query, args = citus.executed[-1]
    assert "%s::bigint" in query and args[1] == "42" and args[2] == "CASCADE"
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", table="distributed.users", tenant="42"))
    assert not failed and res["changed"] is False


def test_isolate_check_mode(citus):
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", table="distributed.users", tenant="7"),
                             check_mode=True)
    assert not failed and res["changed"] is True and citus.executed == []


@pytest.mark.parametrize("args,message", [
    (dict(table="no.table", tenant="1"), "table no.table does not exist"),
    (dict(table="reference.regions", tenant="1"), "is not hash-distributed"),
    (dict(table="distributed.users", tenant="abc'; DROP"), "is not a valid bigint value"),
])
def test_isolate_bad_input(citus, args, message):
    citus.bad_value = "abc'; DROP"
    res, failed = run_module(citus_tenant.main, dict(login_db="citus", **args))
    assert failed and message in res["msg"]
    assert citus.executed == []
