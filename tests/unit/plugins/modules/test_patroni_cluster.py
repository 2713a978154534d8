"""patroni_cluster against a fake Patroni REST API on 127.0.0.1."""

import json

import pytest

from ansible_collections.dpg.cluster.plugins.modules import patroni_cluster

from tests.unit.fake_patroni import FakePatroni
from tests.unit.helpers import run_module

AUTH = {"api_username": "patroni", "api_password": "s3cret-pass-123"}


@pytest.fixture
def fake():
    with FakePatroni() as f:
        yield f


def test_info_reads_and_changes_nothing(fake):
    res, failed = run_module(patroni_cluster.main, {"api_url": fake.url})
    assert not failed
    assert res["changed"] is False
    assert res["leader"] == "pg1"
    assert [m["name"] for m in res["members"]] == ["pg1", "pg2", "pg3"]
    assert res["problems"] == []
    assert fake.unsafe_requests() == []


def test_wait_succeeds_when_healthy(fake):
    res, failed = run_module(patroni_cluster.main, {"api_url": fake.url, "operation": "wait", "replicas": 2})
    assert not failed and res["changed"] is False


def test_wait_times_out_with_reason(fake):
    fake.members[2]["state"] = "starting"
    res, failed = run_module(patroni_cluster.main, {"api_url": fake.url, "operation": "wait", "replicas": 2,
                                                    "wait_timeout": 1})
    assert failed
    assert "replica pg3 is starting" in res["msg"]


def test_switchover_to_candidate(fake):
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="switchover",
                                                        candidate="pg2", wait_timeout=5), diff=True)
    assert not failed, res
    assert res["changed"] is True
    assert res["leader"] == "pg2"
    assert res["diff"] == {"before": {"leader": "pg1"}, "after": {"leader": "pg2"}}
    assert ("POST", "/switchover") in fake.unsafe_requests()
    body = [b for m, p, b in fake.log if p == "/switchover"][0]
    assert body == {"leader": "pg1", "candidate": "pg2"}


def test_switchover_slower_than_api_timeout_is_waited_for(fake):
    """Patroni answers POST /switchover when the new leader runs: with loop_wait 10 that takes longer than one
    ordinary request may (api_timeout); the switchover request waits up to wait_timeout instead."""
    fake.switchover_seconds = 2.5
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="switchover",
                                                        candidate="pg2", api_timeout=1, wait_timeout=10))
    assert not failed, res
    assert res["changed"] is True and res["leader"] == "pg2"


def test_switchover_to_current_leader_is_unchanged(fake):
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="switchover",
                                                        candidate="pg1"))
    assert not failed and res["changed"] is False
    assert fake.unsafe_requests() == []


def test_switchover_check_mode_sends_nothing(fake):
    res, failed = run_module(patroni_cluster.main, dict(api_url=fake.url, operation="switchover",
                                                        candidate="pg3"), check_mode=True)
    assert not failed and res["changed"] is True
    assert res["leader"] == "pg1"
    assert fake.unsafe_requests() == []


def test_switchover_refused_is_reported(fake):
    fake.refuse_switchover = True
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="switchover",
                                                        candidate="pg3"))
    assert failed
    assert "412" in res["msg"]


def test_switchover_wrong_expected_leader_refused(fake):
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="switchover",
                                                        leader="pg3", candidate="pg2"))
    assert failed and "leader is pg1" in res["msg"]
    assert fake.unsafe_requests() == []


def test_unknown_candidate_fails_clearly(fake):
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="failover",
                                                        candidate="pg9"))
    assert failed and "'pg9' is not a member" in res["msg"]
    assert fake.unsafe_requests() == []


def test_failover_needs_candidate(fake):
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="failover"))
    assert failed and "candidate" in res["msg"]


def test_unsafe_operation_without_credentials_fails_before_any_request(fake):
    res, failed = run_module(patroni_cluster.main, dict(api_url=fake.url, operation="pause"))
    assert failed and "api_username" in res["msg"]
    assert fake.log == []


def test_pause_then_resume_idempotent(fake):
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="pause"))
    assert not failed, res
    assert res["changed"] is True and res["paused"] is True
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="pause"))
    assert not failed, res
    assert res["changed"] is False
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="resume"))
    assert not failed, res
    assert res["changed"] is True and res["paused"] is False


def test_configure_patches_only_differences_with_diff(fake):
    desired = {"ttl": 20, "loop_wait": 10, "postgresql": {"parameters": {"max_connections": 100, "work_mem": "8MB"}}}
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="configure",
                                                        config=desired), diff=True)
    assert not failed
    assert res["changed"] is True
    assert res["patch"] == {"ttl": 20, "postgresql": {"parameters": {"work_mem": "8MB"}}}
    assert res["diff"]["before"]["ttl"] == 30 and res["diff"]["after"]["ttl"] == 20
    assert fake.config["ttl"] == 20 and fake.config["postgresql"]["parameters"]["work_mem"] == "8MB"
    # second run: nothing to send
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="configure", config=desired))
    assert not failed, res
    assert res["changed"] is False and res["patch"] == {}
    assert [p for m, p in fake.unsafe_requests()] == ["/config"]


def test_configure_compares_values_with_units_normalised(fake):
    """4GB = 4096MB, on = true, 1s = 1000ms: no PATCH for another spelling of the same value."""
    fake.config["postgresql"]["parameters"].update({"shared_buffers": "4GB", "hot_standby": "on",
                                                    "checkpoint_timeout": "15min", "wal_keep_size": "1GB"})
    same = {"postgresql": {"parameters": {"shared_buffers": "4096MB", "hot_standby": True,
                                          "checkpoint_timeout": "900s", "wal_keep_size": "1024MB"}}}
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="configure", config=same))
    assert not failed and res["changed"] is False and res["patch"] == {}, res
    assert fake.unsafe_requests() == []
    other = {"postgresql": {"parameters": {"shared_buffers": "2GB"}}}
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="configure", config=other))
    assert not failed and res["patch"] == other


def test_configure_check_mode_sends_nothing(fake):
    res, failed = run_module(patroni_cluster.main, dict(api_url=fake.url, operation="configure",
                                                        config={"ttl": 60}), check_mode=True)
    assert not failed and res["changed"] is True and res["patch"] == {"ttl": 60}
    assert fake.config["ttl"] == 30
    assert fake.unsafe_requests() == []


def test_configure_without_config_fails(fake):
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="configure"))
    assert failed and "needs config" in res["msg"]


def test_unreachable_api_fails_with_url():
    res, failed = run_module(patroni_cluster.main, {"api_url": "http://127.0.0.1:1", "api_timeout": 1})
    assert failed and "cannot reach Patroni at http://127.0.0.1:1" in res["msg"]


def test_negative_timeout_rejected(fake):
    res, failed = run_module(patroni_cluster.main, {"api_url": fake.url, "wait_timeout": -1})
    assert failed and "wait_timeout must be zero or more" in res["msg"]


def test_wrong_password_is_a_401_with_what_to_check(fake):
    res, failed = run_module(patroni_cluster.main, dict(api_username="patroni", api_password="not-the-password",
                                                        api_url=fake.url, operation="pause"))
    assert failed and "HTTP 401" in res["msg"] and "api_username / api_password" in res["msg"], res
    assert fake.config.get("pause") is not True


def test_api_that_never_answers_times_out_cleanly():
    """A member that accepts the connection but never answers (a frozen Patroni)."""
    import socket  # pylint: disable=import-outside-toplevel
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        url = "http://127.0.0.1:%d" % server.getsockname()[1]
        res, failed = run_module(patroni_cluster.main, {"api_url": url, "api_timeout": 1})
        assert failed and "cannot reach Patroni at %s/cluster" % url in res["msg"] and "timed out" in res["msg"], res
    finally:
        server.close()


def test_server_error_is_reported_with_a_hint(fake):
    fake.refuse_switchover = True
    res, failed = run_module(patroni_cluster.main, dict(AUTH, api_url=fake.url, operation="switchover",
                                                        candidate="pg3"))
    assert failed and "answered HTTP" in res["msg"] and "Traceback" not in res["msg"]


# -- config_file: URL and credentials from Patroni's configuration ---------------------------------------------

def _config_file(tmp_path, fake, password="s3cret-pass-123", auth=True, section="restapi"):
    """Patroni's configuration of the member behind fake (plain http, as without restapi.certfile)."""
    port = fake.url.rsplit(":", 1)[1]
    restapi = {"listen": "0.0.0.0:%s" % port, "connect_address": "127.0.0.1:%s" % port}
    if auth:
        restapi["authentication"] = {"username": "patroni", "password": password}
    path = tmp_path / "config.yml"
    path.write_text("scope: demo\nname: pg1\n%s:\n%s\n" % (
        section, "\n".join("  %s: %s" % (k, json.dumps(v)) for k, v in restapi.items())))
    return str(path)


def test_config_file_gives_url_and_credentials_for_a_switchover(fake, tmp_path):
    res, failed = run_module(patroni_cluster.main, dict(config_file=_config_file(tmp_path, fake),
                                                        operation="switchover", candidate="pg2", wait_timeout=5))
    assert not failed, res
    assert res["changed"] is True and res["leader"] == "pg2"
    assert ("POST", "/switchover") in fake.unsafe_requests()
    assert "s3cret-pass-123" not in json.dumps(res)


def test_config_file_info_needs_no_credentials(fake, tmp_path):
    res, failed = run_module(patroni_cluster.main, dict(config_file=_config_file(tmp_path, fake, auth=False)))
    assert not failed, res
    assert res["leader"] == "pg1" and res["requests"] == ["GET /cluster"]


def test_task_password_wins_over_the_file(fake, tmp_path):
    cfg = _config_file(tmp_path, fake, password="stale-file-password")
    res, failed = run_module(patroni_cluster.main, dict(config_file=cfg, api_password="s3cret-pass-123",
                                                        operation="pause"))
    assert not failed, res
    assert res["paused"] is True


def test_task_api_url_wins_over_the_file(fake, tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("restapi:\n  connect_address: 127.0.0.1:1\n  listen: 0.0.0.0:1\n")
    res, failed = run_module(patroni_cluster.main, dict(config_file=str(path), api_url=fake.url))
    assert not failed, res
    assert res["leader"] == "pg1"


def test_wrong_password_in_the_file_fails_without_showing_it(fake, tmp_path):
    cfg = _config_file(tmp_path, fake, password="wrong-file-password-42")
    res, failed = run_module(patroni_cluster.main, dict(config_file=cfg, operation="pause"))
    assert failed and "HTTP 401" in res["msg"], res
    assert "wrong-file-password-42" not in json.dumps(res)
    assert fake.config.get("pause") is not True and fake.paused is False


def test_unsafe_operation_with_a_file_without_authentication_fails_before_any_request(fake, tmp_path):
    cfg = _config_file(tmp_path, fake, auth=False)
    res, failed = run_module(patroni_cluster.main, dict(config_file=cfg, operation="configure", config={"ttl": 20}))
    assert failed and cfg in res["msg"] and "restapi.authentication" in res["msg"], res
    assert fake.log == []


def test_missing_config_file_fails_cleanly(fake, tmp_path):
    path = str(tmp_path / "nowhere" / "config.yml")
    res, failed = run_module(patroni_cluster.main, dict(config_file=path, operation="info"))
    assert failed
    assert "cannot read Patroni configuration %s" % path in res["msg"] and "with become" in res["msg"]
    assert "Traceback" not in res["msg"] and res["requests"] == []
    assert fake.log == []


def test_config_file_that_is_not_yaml_fails_without_its_content(fake, tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("restapi:\n  authentication: {username: patroni, password: leaked-secret-77\n  : [\n")
    res, failed = run_module(patroni_cluster.main, dict(config_file=str(path)))
    assert failed and "is not valid YAML" in res["msg"], res
    assert "leaked-secret-77" not in json.dumps(res)


def test_config_file_without_restapi_section_says_what_to_fix(fake, tmp_path):
    cfg = _config_file(tmp_path, fake, section="postgresql")
    res, failed = run_module(patroni_cluster.main, dict(config_file=cfg))
    assert failed and "no restapi section" in res["msg"] and "s3cret-pass-123" not in json.dumps(res), res
    assert fake.log == []
