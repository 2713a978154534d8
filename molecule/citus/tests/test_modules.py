"""The Citus modules on a real coordinator, called as an operator calls them: check mode (which must
change nothing, read back before and after), the change, and a re-run that reports changed: false.
Runs after test_citus.py, on the coordinator group's leader (connection options set once, as
module_defaults would, in LOGIN).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
from adhoc import module  # noqa: E402  pylint: disable=wrong-import-position

COORDINATORS = ["mol-cit-c1", "mol-cit-c2"]


def _leader():
    res = module(COORDINATORS[0], "dpg.cluster.patroni_cluster",
                 dict(operation="wait", wait_timeout=120, config_file="/etc/patroni/config.yml"))
    assert not res.get("failed"), res
    return res["leader"]


def _login():
    """The superuser over the member's socket (peer; the modules run as root, mapped to postgres)."""
    return dict(login_unix_socket="/var/run/postgresql", login_user="postgres", login_db="dpg")


def _call(name, args, check=False):
    res = module(_leader(), "dpg.cluster." + name, dict(_login(), **args), check=check)
    assert not res.get("failed"), res
    assert "Traceback" not in str(res.get("msg", ""))
    return res


def _sql(query):
    res = module(_leader(), "community.postgresql.postgresql_query", dict(_login(), query=query))
    assert not res.get("failed"), res
    return res["query_result"] or []  # postgresql_query gives {} for no row


def _partition(table):
    return _sql("SELECT partmethod::text AS m FROM pg_dist_partition WHERE logicalrelid = '%s'::regclass" % table)


def test_citus_distributed_table_check_apply_rerun_and_absent():
    _sql("CREATE TABLE IF NOT EXISTS public.mod_check (id bigint PRIMARY KEY, v text)")
    want = dict(table="public.mod_check", distribution_column="id", shard_count=8)
    res = _call("citus_distributed_table", want, check=True)
    assert res["changed"] is True and res["queries"] and _partition("public.mod_check") == [], res
    res = _call("citus_distributed_table", want)
    assert res["changed"] is True and _partition("public.mod_check") == [{"m": "h"}]
    assert _call("citus_distributed_table", want)["changed"] is False
    gone = dict(table="public.mod_check", state="absent")
    assert _call("citus_distributed_table", gone, check=True)["changed"] is True
    assert _partition("public.mod_check") == [{"m": "h"}]
    assert _call("citus_distributed_table", gone)["changed"] is True and _partition("public.mod_check") == []
    assert _call("citus_distributed_table", gone)["changed"] is False
    _sql("DROP TABLE public.mod_check")


def test_citus_tenant_check_apply_rerun():
    want = dict(table="distributed.users", tenant="42")
    res = _call("citus_tenant", want, check=True)
    assert res["changed"] is True and res["isolated"] is False, res
    assert _call("citus_tenant", want, check=True)["shard_before"] == res["shard_before"]
    res = _call("citus_tenant", want)
    assert res["changed"] is True and res["isolated"] is True, res
    res = _call("citus_tenant", want)
    assert res["changed"] is False and res["isolated"] is True


def test_citus_rebalance_check_apply_rerun():
    before = _call("citus_info", {})["shards_per_node"]
    res = _call("citus_rebalance", {}, check=True)
    assert _call("citus_info", {})["shards_per_node"] == before, "check mode moved shards"
    if res["changed"]:
        res = _call("citus_rebalance", dict(wait_timeout=600))
        assert res["changed"] is True and res["state"] in ("finished", "done"), res
    res = _call("citus_rebalance", {})
    assert res["changed"] is False and res["plan"] == [], res


def test_citus_node_verifies_patroni_registered_primaries():
    nodes = [n for n in _call("citus_info", {})["nodes"] if n["noderole"] == "primary" and n["groupid"] > 0]
    for node in nodes:
        for check in (True, False):
            res = _call("citus_node", dict(node_name=node["nodename"], state="active"), check=check)
            assert res["changed"] is False and res["node"]["isactive"] is True, res


def test_citus_info_and_migration_plan_read_only():
    info = _call("citus_info", dict(sizes=True))
    assert info["changed"] is False and sorted({n["groupid"] for n in info["nodes"]}) == [0, 1, 2]
    assert info["bytes_per_node"]
    plan = _call("citus_migration_plan", dict(schemas=["distributed", "reference"]))
    assert plan["changed"] is False and plan["tables"], plan
