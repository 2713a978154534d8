"""Pure decisions of module_utils/_patroni.py, and how config_file turns into client options."""

import json
import os

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dpg.cluster.plugins.module_utils._patroni import (
    DEFAULT_API_URL, PATRONI_API_ARGSPEC, PatroniClient, PatroniError, api_options_from_config, config_patch,
    deep_merge, health_problems, normalize_cluster, read_config_file)

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

SECRET = "s3cret-from-the-file"
# module.params of a task that sets none of the REST API options (argspec defaults only)
NONE = dict(config_file="/etc/patroni/config.yml", api_url=None, api_username=None, api_password=None,
            validate_certs=True, ca_path=None, client_cert=None, client_key=None, api_timeout=10)
TLS_CONFIG = {
    "scope": "demo",
    "restapi": {"listen": "0.0.0.0:8008", "connect_address": "10.0.0.1:8008",
                "certfile": "/etc/patroni/tls/server.crt", "keyfile": "/etc/patroni/tls/server.key",
                "cafile": "/etc/patroni/tls/ca.crt", "verify_client": "optional",
                "authentication": {"username": "patroni", "password": SECRET}},
    "ctl": {"certfile": "/etc/patroni/tls/ctl.crt", "keyfile": "/etc/patroni/tls/ctl.key",
            "cacert": "/etc/patroni/tls/ctl-ca.crt"},
}


def test_config_file_with_tls_gives_https_ca_client_cert_and_credentials():
    assert api_options_from_config(TLS_CONFIG, NONE) == dict(
        api_url="https://10.0.0.1:8008", api_username="patroni", api_password=SECRET, validate_certs=True,
        ca_path="/etc/patroni/tls/ctl-ca.crt", client_cert="/etc/patroni/tls/ctl.crt",
        client_key="/etc/patroni/tls/ctl.key")


def test_config_file_without_certfile_is_http_on_the_listen_port():
    got = api_options_from_config({"restapi": {"listen": "0.0.0.0:8010"}}, NONE)
    assert got == dict(api_url="http://127.0.0.1:8010", api_username=None, api_password=None, validate_certs=True,
                       ca_path=None, client_cert=None, client_key=None)


@pytest.mark.parametrize("listen, url", [
    ("[::]:8011", "https://127.0.0.1:8011"),
    (":8012", "https://127.0.0.1:8012"),
    ("10.0.0.1,127.0.0.1:8013", "https://127.0.0.1:8013"),
    (8014, "https://127.0.0.1:8014"),
])
def test_listen_port_is_used_when_there_is_no_connect_address(listen, url):
    cfg = {"restapi": {"listen": listen, "certfile": "/c"}}
    assert api_options_from_config(cfg, NONE)["api_url"] == url


def test_ipv6_connect_address_stays_a_valid_url():
    cfg = {"restapi": {"connect_address": "[fd00::1]:8008", "listen": "[::]:8008", "certfile": "/c"}}
    assert api_options_from_config(cfg, NONE)["api_url"] == "https://[fd00::1]:8008"


def test_listen_without_a_port_and_no_connect_address_says_what_to_set():
    with pytest.raises(PatroniError, match=r"restapi.listen \('0.0.0.0'\).*set restapi.connect_address"):
        api_options_from_config({"restapi": {"listen": "0.0.0.0"}}, NONE)
    # an explicit api_url does not need either
    got = api_options_from_config({"restapi": {}}, dict(NONE, api_url="http://pg1:8008"))
    assert got["api_url"] == "http://pg1:8008"


def test_restapi_cafile_is_the_ca_when_ctl_has_no_cacert_and_no_client_cert_without_ctl():
    cfg = {"restapi": {"connect_address": "pg1:8008", "certfile": "/s.crt", "keyfile": "/s.key", "cafile": "/ca"}}
    got = api_options_from_config(cfg, NONE)
    assert got["ca_path"] == "/ca"
    assert got["client_cert"] is None and got["client_key"] is None


def test_ctl_authentication_wins_over_restapi_authentication():
    cfg = {"restapi": {"listen": ":8008", "authentication": {"username": "rest", "password": "rest-pw"}},
           "ctl": {"authentication": {"username": "ctl", "password": "ctl-pw"}}}
    got = api_options_from_config(cfg, NONE)
    assert (got["api_username"], got["api_password"]) == ("ctl", "ctl-pw")


def test_credentials_are_strings_even_when_yaml_reads_numbers():
    cfg = {"restapi": {"listen": ":8008", "authentication": {"username": "patroni", "password": 123456}}}
    assert api_options_from_config(cfg, NONE)["api_password"] == "123456"


@pytest.mark.parametrize("insecure, validate", [(True, False), ("true", False), ("yes", False), (False, True),
                                                ("false", True), ("no", True), (None, True)])
def test_ctl_insecure_turns_certificate_checks_off(insecure, validate):
    cfg = {"restapi": {"listen": ":8008", "certfile": "/c"}, "ctl": {"insecure": insecure}}
    assert api_options_from_config(cfg, NONE)["validate_certs"] is validate


def test_task_options_win_over_the_file():
    task = dict(NONE, api_url="https://pg9:8008", api_username="task-user", api_password="task-pw",
                ca_path="/task/ca", client_cert="/task/c.crt", client_key="/task/c.key")
    got = api_options_from_config(TLS_CONFIG, task)
    assert got == dict(api_url="https://pg9:8008", api_username="task-user", api_password="task-pw",
                       validate_certs=True, ca_path="/task/ca", client_cert="/task/c.crt", client_key="/task/c.key")
    assert api_options_from_config(TLS_CONFIG, dict(NONE, validate_certs=False))["validate_certs"] is False
    # only the password from the task, the rest from the file
    got = api_options_from_config(TLS_CONFIG, dict(NONE, api_password="task-pw"))
    assert (got["api_username"], got["api_password"], got["api_url"]) == ("patroni", "task-pw", "https://10.0.0.1:8008")


@pytest.mark.parametrize("config", [{"scope": "demo"}, {"restapi": None}, {"restapi": "0.0.0.0:8008"}])
def test_missing_restapi_section_says_what_to_fix(config):
    with pytest.raises(PatroniError, match="no restapi section; point config_file at the file Patroni runs with"):
        api_options_from_config(config, NONE)


def test_missing_file_names_it_and_asks_for_a_member_with_become(tmp_path):
    path = str(tmp_path / "missing.yml")
    with pytest.raises(PatroniError) as err:
        read_config_file(path)
    assert "cannot read Patroni configuration %s: No such file or directory" % path in str(err.value)
    assert "Patroni member, with become" in str(err.value)


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(PatroniError, match="cannot read Patroni configuration %s: Is a directory" % tmp_path):
        read_config_file(str(tmp_path))


def test_bad_yaml_names_file_and_line_never_the_content(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("scope: demo\nrestapi:\n  authentication: {password: %s\n  : [\n" % SECRET)
    with pytest.raises(PatroniError) as err:
        read_config_file(str(bad))
    msg = str(err.value)
    assert msg.startswith("Patroni configuration %s is not valid YAML (line " % bad), msg
    assert SECRET not in msg and "Traceback" not in msg


def test_binary_garbage_is_not_yaml(tmp_path):
    bad = tmp_path / "bin.yml"
    bad.write_bytes(b"restapi:\n  password: \xff\xfe" + SECRET.encode() + b"\x00\n")
    with pytest.raises(PatroniError) as err:
        read_config_file(str(bad))
    assert "is not valid YAML" in str(err.value) and SECRET not in str(err.value)


def test_a_yaml_scalar_is_not_a_configuration(tmp_path):
    scalar = tmp_path / "scalar.yml"
    scalar.write_text("just text")
    with pytest.raises(PatroniError, match="is not a YAML mapping"):
        read_config_file(str(scalar))


def test_good_file_is_read_as_a_dict(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text("restapi:\n  listen: 0.0.0.0:8008\n  authentication:\n    password: '%s'\n" % SECRET)
    assert read_config_file(str(good)) == {"restapi": {"listen": "0.0.0.0:8008", "authentication": {"password": SECRET}}}


def _module(args):
    with patch_module_args(args):
        return AnsibleModule(argument_spec=PATRONI_API_ARGSPEC)


def test_without_config_file_or_api_url_the_client_uses_the_default_url():
    module = _module({})
    assert module.params["api_url"] is None  # no argspec default: config_file must be able to supply it
    client = PatroniClient.from_module(module)
    assert client.base_url == DEFAULT_API_URL == "http://127.0.0.1:8008"
    assert (client.username, client.password, client.validate_certs) == (None, None, True)


def test_from_module_reads_the_file_and_masks_its_password(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text(json.dumps(TLS_CONFIG))  # JSON is YAML
    os.chmod(str(cfg), 0o600)
    module = _module({"config_file": str(cfg), "api_timeout": 3})
    client = PatroniClient.from_module(module)
    assert (client.base_url, client.username, client.password) == ("https://10.0.0.1:8008", "patroni", SECRET)
    assert (client.ca_path, client.client_cert, client.client_key, client.timeout) == (
        "/etc/patroni/tls/ctl-ca.crt", "/etc/patroni/tls/ctl.crt", "/etc/patroni/tls/ctl.key", 3)
    # Ansible removes no_log_values from every result and log line of the module
    assert SECRET in module.no_log_values
    from ansible.module_utils.common.parameters import remove_values  # pylint: disable=import-outside-toplevel
    masked = remove_values({"msg": "user patroni:%s" % SECRET}, module.no_log_values)
    assert SECRET not in json.dumps(masked)


def test_from_module_task_url_wins_over_config_file(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text(json.dumps(TLS_CONFIG))
    client = PatroniClient.from_module(_module({"config_file": str(cfg), "api_url": "http://pg2:8008/"}))
    assert client.base_url == "http://pg2:8008" and client.password == SECRET
