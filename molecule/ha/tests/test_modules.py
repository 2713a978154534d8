"""The collection's modules on a real cluster, called as an operator calls them (ad-hoc, through the
scenario's inventory): check mode first (it must change nothing, read back before and after), then the
change, then a re-run that must report changed: false. Runs after test_ha.py (the drills), on the
healed cluster.
"""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
from adhoc import module as _module, playbook as _playbook  # noqa: E402  pylint: disable=wrong-import-position
from drill import report  # noqa: E402  pylint: disable=wrong-import-position

NODES = os.environ.get("DPG_PG_NODES", "mol-ha-pg1,mol-ha-pg2,mol-ha-pg3").split(",")
LAB_DIR = os.environ["DPG_LAB_DIR"]


def _secret(name):
    with open(os.path.join(LAB_DIR, "secrets", name)) as f:
        return f.read().split()[0]


# As playbooks call it: URL, CA, client certificate and credentials from Patroni's own configuration.
CFG = dict(config_file="/etc/patroni/config.yml")
TLS = "/etc/patroni/tls/"


def _auth():
    """The same, spelled out: the REST API's HTTPS address, the CA, a client certificate and the credentials."""
    return dict(api_url="https://127.0.0.1:8008", ca_path=TLS + "ca.crt", client_cert=TLS + "server.crt",
                client_key=TLS + "server.key", api_username="patroni", api_password=_secret("restapi"))


def _info():
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", dict(operation="wait", wait_timeout=180, **CFG))
    assert not res.get("failed"), res
    return res


def _config():
    args = dict(url="https://127.0.0.1:8008/config", return_content=True, ca_path=TLS + "ca.crt")
    res = _module(NODES[0], "ansible.builtin.uri", args)
    return json.loads(res["content"])


def test_patroni_cluster_configure_check_apply_rerun():
    want = dict(config={"maximum_lag_on_failover": 2097152}, operation="configure", **_auth())
    before = _config()
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", want, check=True, diff=True)
    assert res["changed"] is True and res["patch"] == {"maximum_lag_on_failover": 2097152}, res
    assert _config() == before, "check mode changed the DCS configuration"
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", want)
    assert res["changed"] is True and _config()["maximum_lag_on_failover"] == 2097152
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", want)
    assert res["changed"] is False and res["patch"] == {}
    # the same value spelled otherwise is no change either (one comparison for every module)
    same = dict(want, config={"postgresql": {"parameters": {"wal_keep_size": "1024MB"}}})
    assert _config()["postgresql"]["parameters"]["wal_keep_size"] == "1GB"
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", same)
    assert res["changed"] is False, res
    _module(NODES[0], "dpg.cluster.patroni_cluster", dict(want, config={"maximum_lag_on_failover": 1048576}))


def test_patroni_cluster_pause_resume_check_apply_rerun():
    for op, paused in (("pause", True), ("resume", False)):
        res = _module(NODES[0], "dpg.cluster.patroni_cluster", dict(operation=op, **CFG), check=True)
        assert res["changed"] is True and _info()["paused"] is not paused, (op, res)
        res = _module(NODES[0], "dpg.cluster.patroni_cluster", dict(operation=op, **CFG))
        assert res["changed"] is True and res["paused"] is paused, (op, res)
        res = _module(NODES[0], "dpg.cluster.patroni_cluster", dict(operation=op, **CFG))
        assert res["changed"] is False, (op, res)
        assert _secret("restapi") not in json.dumps(res), "the password read from config_file was returned"


def test_patroni_cluster_refuses_plain_http_and_a_missing_client_certificate():
    """Over TLS the module must verify the certificate; an unsafe call without client certificate gets 403."""
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", dict(operation="info", api_url="http://127.0.0.1:8008"))
    assert res.get("failed") and "cannot reach Patroni" in res["msg"], res
    no_cert = dict(_auth(), operation="configure", config={"maximum_lag_on_failover": 1048577})
    del no_cert["client_cert"], no_cert["client_key"]
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", no_cert)
    assert res.get("failed") and "HTTP 403" in res["msg"] and "Traceback" not in res["msg"], res


def test_patroni_cluster_switchover_check_apply_rerun():
    before = _info()
    # with synchronous_mode Patroni switches over only to the synchronous standby
    replicas = [m for m in before["members"] if m["name"] != before["leader"]]
    candidate = ([m["name"] for m in replicas if m["role"] == "sync_standby"] or [replicas[0]["name"]])[0]
    args = dict(operation="switchover", candidate=candidate, wait_timeout=120, **_auth())
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", args, check=True)
    assert res["changed"] is True and _info()["leader"] == before["leader"], res
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", args)
    assert not res.get("failed") and res["changed"] is True and res["leader"] == candidate, res.get("msg", res)
    res = _module(NODES[0], "dpg.cluster.patroni_cluster", args)
    assert res["changed"] is False and res["leader"] == candidate, res
    assert _info()["leader"] == candidate


SMALL = ['-e', 'dpg_tune_profile=web', '-e',
         json.dumps({"dpg_tune_overrides": {"shared_buffers": "128MB", "effective_cache_size": "512MB",
                                            "maintenance_work_mem": "64MB", "max_connections": "100"}})]


def test_pg_tune_computes_only_and_tuning_yml_applies():
    res = _module(NODES[0], "dpg.cluster.pg_tune", dict(profile="web", memory_mb=4096, cpus=2))
    assert res["changed"] is False and res["settings"]["shared_buffers"] == "1GB", res
    assert "shared_buffers" in res["restart_required"]
    before = _config()
    rc, checked, out = _playbook("playbooks/tuning.yml", *SMALL, check=True)
    assert rc == 0 and checked >= 1, out[-3000:]
    assert _config() == before, "tuning.yml --check changed the DCS configuration"
    rc, applied, out = _playbook("playbooks/tuning.yml", *SMALL)
    assert rc == 0 and applied >= 1, out[-3000:]
    params = _config()["postgresql"]["parameters"]
    assert params["shared_buffers"] == "128MB" and params["random_page_cost"] == "1.1", params
    rc, rerun, out = _playbook("playbooks/tuning.yml", *SMALL)
    assert rc == 0 and rerun == 0, out[-3000:]
    report("MODULES tuning.yml (pg_tune + patroni_cluster configure): changed %d in check mode (DCS unchanged), "
           "%d applied, %d on the re-run" % (checked, applied, rerun))


@pytest.mark.parametrize("args,needle", [
    (dict(login_host="127.0.0.1", login_user="dpg_app", login_password="wrong-password-123", login_db="dpg",
          profile="auto"), "password authentication failed"),
    (dict(login_host="127.0.0.1", login_port=1, profile="auto"), "cannot connect to PostgreSQL"),
])
def test_server_errors_fail_cleanly_on_a_real_server(args, needle):
    res = _module(NODES[0], "dpg.cluster.pg_tune", args)
    assert res.get("failed") and needle in res["msg"] and "Traceback" not in res["msg"], res
