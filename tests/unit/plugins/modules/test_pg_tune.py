"""pg_tune module: computes only (applying is patroni_cluster's or postgresql_alter_system's), bad input."""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils import _postgres
from ansible_collections.dpg.cluster.plugins.modules import pg_tune

from tests.unit.helpers import run_module

BASE = {"memory_mb": 16384, "cpus": 4, "profile": "read-heavy", "storage": "ssd"}


def test_compute_only_reports_reasons_and_changes_nothing():
    res, failed = run_module(pg_tune.main, BASE)
    assert not failed
    assert res["changed"] is False
    assert res["profile"] == "web"
    assert res["settings"]["shared_buffers"] == "4GB"
    assert res["reasons"]["shared_buffers"] == "1/4 of 16GB memory"
    assert res["memory_source"] == "given"


def test_detects_memory_when_not_given():
    res, failed = run_module(pg_tune.main, {"cpus": 2})
    assert not failed
    assert res["memory_source"] in ("cgroup", "meminfo")
    assert res["memory_mb"] > 0


def test_computes_only_and_never_connects_without_auto(monkeypatch):
    """pg_tune changes nothing and opens no session unless profile is auto."""
    def refuse(params):
        raise AssertionError("pg_tune connected although profile is not auto")
    monkeypatch.setattr(_postgres, "Session", refuse)
    res, failed = run_module(pg_tune.main, BASE, check_mode=True)
    assert not failed and res["changed"] is False and res["queries"] == []
    assert "shared_buffers" in res["restart_required"] and "work_mem" not in res["restart_required"]
    assert set(res["restart_required"]) <= set(res["settings"])


def test_auto_profile_reads_write_share(citus):
    citus.write_stats = (1000, 900, 50, 50)
    res, failed = run_module(pg_tune.main, dict(BASE, profile="auto"))
    assert not failed, res
    assert res["profile"] == "oltp" and res["queries"] == [pg_tune.SQL_WRITE_STATS]


@pytest.mark.parametrize("fault,needle", [
    ("refuse_login", "cannot connect to PostgreSQL as postgres@"),
    ("lose_connection_at", "connection to postgres@"),
    ("timeout_at", "statement_timeout"),
])
def test_auto_profile_server_errors_fail_cleanly(citus, fault, needle):
    setattr(citus, fault, True if fault == "refuse_login" else 1)
    res, failed = run_module(pg_tune.main, dict(BASE, profile="auto"))
    assert failed and needle in res["msg"], res
    assert "Traceback" not in res["msg"] and "queries" in res


def test_overrides_and_exclude():
    res, failed = run_module(pg_tune.main, dict(BASE, overrides={"work_mem": "64MB"}, exclude=["jit"]))
    assert not failed, res
    assert res["settings"]["work_mem"] == "64MB" and res["reasons"]["work_mem"] == "override"
    assert "jit" not in res["settings"]


@pytest.mark.parametrize("args,message", [
    (dict(BASE, memory_mb=0), "memory_mb must be a positive integer"),
    (dict(BASE, cpus=-2), "cpus must be a positive integer"),
    (dict(BASE, max_connections=0), "max_connections must be a positive integer"),
    (dict(BASE, postgresql_version=9), "postgresql_version 9 is not supported"),
    (dict(BASE, profile="fast"), "value of profile must be one of"),
    (dict(BASE, apply="patroni"), "Unsupported parameters for (basic.py) module: apply"),
])
def test_bad_input_fails_clearly(args, message):
    res, failed = run_module(pg_tune.main, args)
    assert failed
    assert message in res["msg"]
