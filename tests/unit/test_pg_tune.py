"""pg_tune module: compute, apply through a fake Patroni, check mode, bad input."""

import pytest

from ansible_collections.dpg.cluster.plugins.modules import pg_tune

from .fake_patroni import FakePatroni
from .helpers import run_module

AUTH = {"api_username": "patroni", "api_password": "s3cret-pass-123"}
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


def test_apply_patroni_patches_changed_settings_then_is_idempotent():
    with FakePatroni() as fake:
        args = dict(BASE, apply="patroni", api_url=fake.url, **AUTH)
        res, failed = run_module(pg_tune.main, args, diff=True)
        assert not failed, res
        assert res["changed"] is True
        assert "shared_buffers" in res["restart_required"]
        assert "work_mem" in res["changed_settings"] and "work_mem" not in res["restart_required"]
        assert res["diff"]["before"]["max_connections"] == 100
        assert res["diff"]["after"]["max_connections"] == "200"
        params = fake.config["postgresql"]["parameters"]
        assert params["shared_buffers"] == "4GB" and params["hot_standby"] == "on"
        res, failed = run_module(pg_tune.main, args)
        assert not failed and res["changed"] is False and res["restart_required"] == []
        assert [p for m, p in fake.unsafe_requests()] == ["/config"]


def test_apply_patroni_check_mode_sends_nothing():
    with FakePatroni() as fake:
        res, failed = run_module(pg_tune.main, dict(BASE, apply="patroni", api_url=fake.url), check_mode=True)
        assert not failed and res["changed"] is True
        assert fake.unsafe_requests() == []
        assert "shared_buffers" not in fake.config["postgresql"]["parameters"]


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
    (dict(BASE, apply="patroni"), "apply=patroni needs api_username"),
])
def test_bad_input_fails_clearly(args, message):
    res, failed = run_module(pg_tune.main, args)
    assert failed
    assert message in res["msg"]
