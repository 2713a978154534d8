"""Pure decisions of module_utils/_patroni.py."""

from ansible_collections.dpg.cluster.plugins.module_utils._patroni import (
    config_patch, deep_merge, health_problems, normalize_cluster)

CLUSTER = {"members": [
    {"name": "a", "role": "leader", "state": "running", "timeline": 4, "host": "a", "port": 5432},
    {"name": "b", "role": "sync_standby", "state": "streaming", "timeline": 4, "lag": 0},
    {"name": "c", "role": "replica", "state": "streaming", "timeline": 4, "lag": 50 * 1024 * 1024,
     "pending_restart": True},
]}


def test_normalize_finds_leader_replicas_and_pending_restart():
    s = normalize_cluster(CLUSTER)
    assert s["leader"] == "a"
    assert s["timeline"] == 4
    assert [m["name"] for m in s["replicas"]] == ["b", "c"]
    assert [m["name"] for m in s["members"] if m["pending_restart"]] == ["c"]
    assert s["paused"] is False


def test_normalize_unknown_lag_is_none():
    s = normalize_cluster({"members": [{"name": "x", "role": "replica", "state": "streaming", "lag": "unknown"}]})
    assert s["members"][0]["lag_bytes"] is None
    assert s["leader"] is None


def test_health_counts_only_replicas_within_lag():
    s = normalize_cluster(CLUSTER)
    assert health_problems(s) == []
    problems = health_problems(s, replicas=2, max_lag=16 * 1024 * 1024)
    assert any("replica c lags" in p for p in problems)
    assert "1 of 2 required replicas streaming" in problems
    assert health_problems(s, replicas=1, max_lag=16 * 1024 * 1024) == [
        p for p in problems if p.startswith("replica c")]


def test_health_without_leader():
    s = normalize_cluster({"members": [{"name": "b", "role": "replica", "state": "stopped"}]})
    problems = health_problems(s)
    assert "no leader" in problems
    assert "replica b is stopped" in problems


def test_config_patch_only_differences():
    current = {"ttl": 30, "loop_wait": 10, "synchronous_mode": False,
               "postgresql": {"parameters": {"max_connections": 100, "hot_standby": "on"}}}
    desired = {"ttl": "30", "loop_wait": 5, "synchronous_mode": True,
               "postgresql": {"parameters": {"max_connections": 100, "hot_standby": True, "work_mem": "8MB"}}}
    assert config_patch(current, desired) == {
        "loop_wait": 5, "synchronous_mode": True, "postgresql": {"parameters": {"work_mem": "8MB"}}}


def test_config_patch_equal_is_empty_and_null_deletes_only_present_keys():
    current = {"ttl": 30, "postgresql": {"parameters": {"a": "1"}}}
    assert config_patch(current, {"ttl": 30}) == {}
    assert config_patch(current, {"missing": None}) == {}
    assert config_patch(current, {"postgresql": {"parameters": {"a": None}}}) == {
        "postgresql": {"parameters": {"a": None}}}


def test_config_patch_on_off_and_quorum():
    assert config_patch({"synchronous_mode": "quorum"}, {"synchronous_mode": "quorum"}) == {}
    assert config_patch({"synchronous_mode": True}, {"synchronous_mode": "quorum"}) == {"synchronous_mode": "quorum"}
    assert config_patch({"x": "off"}, {"x": False}) == {}
    assert config_patch({"x": 1}, {"x": "1"}) == {}


def test_deep_merge_applies_patch_like_patroni():
    base = {"ttl": 30, "postgresql": {"parameters": {"a": 1, "b": 2}}}
    out = deep_merge(base, {"ttl": 20, "postgresql": {"parameters": {"a": None, "c": 3}}})
    assert out == {"ttl": 20, "postgresql": {"parameters": {"b": 2, "c": 3}}}
    assert base["postgresql"]["parameters"] == {"a": 1, "b": 2}  # input untouched


# -- config_file ---------------------------------------------------------------------------------------------

import pytest  # noqa: E402
from ansible_collections.dpg.cluster.plugins.module_utils._patroni import (  # noqa: E402
    PatroniError as _PatroniError, api_options_from_config, read_config_file)

_NONE = dict(api_url=None, api_username=None, api_password=None, validate_certs=True, ca_path=None,
             client_cert=None, client_key=None)
_TLS_CONFIG = {
    "restapi": {"listen": "0.0.0.0:8008", "connect_address": "10.0.0.1:8008", "certfile": "/t/server.crt",
                "keyfile": "/t/server.key", "cafile": "/t/ca.crt", "authentication": {"username": "u", "password": "p"}},
    "ctl": {"certfile": "/t/server.crt", "keyfile": "/t/server.key", "cacert": "/t/ctl-ca.crt"},
}


def test_config_file_tls_settings():
    got = api_options_from_config(_TLS_CONFIG, _NONE)
    assert got == dict(api_url="https://10.0.0.1:8008", api_username="u", api_password="p", validate_certs=True,
                       ca_path="/t/ctl-ca.crt", client_cert="/t/server.crt", client_key="/t/server.key")


def test_config_file_plain_http_listen_port_and_ctl_credentials():
    cfg = {"restapi": {"listen": "0.0.0.0:8010"}, "ctl": {"authentication": {"username": "c", "password": "q"},
                                                          "insecure": True}}
    got = api_options_from_config(cfg, _NONE)
    assert got["api_url"] == "http://127.0.0.1:8010"
    assert (got["api_username"], got["api_password"], got["validate_certs"]) == ("c", "q", False)


def test_config_file_ipv6_and_task_options_win():
    cfg = {"restapi": {"connect_address": "[fd00::1]:8008", "certfile": "/c", "cafile": "/ca"}}
    got = api_options_from_config(cfg, dict(_NONE, api_url="https://pg9:8008", api_password="task",
                                            validate_certs=False))
    assert got["api_url"] == "https://pg9:8008" and got["api_password"] == "task" and got["validate_certs"] is False
    assert api_options_from_config(cfg, _NONE)["api_url"] == "https://[fd00::1]:8008"
    assert api_options_from_config(cfg, _NONE)["ca_path"] == "/ca"


def test_config_file_errors_name_the_file_not_the_secret(tmp_path):
    with pytest.raises(_PatroniError, match="restapi section"):
        api_options_from_config({"scope": "x"}, _NONE)
    with pytest.raises(_PatroniError, match="cannot read .*missing.yml.*become"):
        read_config_file(str(tmp_path / "missing.yml"))
    bad = tmp_path / "bad.yml"
    bad.write_text("restapi: {password: s3cret-value\n  : [")
    with pytest.raises(_PatroniError) as err:
        read_config_file(str(bad))
    assert "not valid YAML" in str(err.value) and "s3cret-value" not in str(err.value)
    scalar = tmp_path / "scalar.yml"
    scalar.write_text("just text")
    with pytest.raises(_PatroniError, match="not a YAML mapping"):
        read_config_file(str(scalar))
    good = tmp_path / "good.yml"
    good.write_text("restapi:\n  listen: 0.0.0.0:8008\n")
    assert read_config_file(str(good)) == {"restapi": {"listen": "0.0.0.0:8008"}}
