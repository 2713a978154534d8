"""citus_distributed_table decisions against an in-memory Citus coordinator."""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils import _postgres
from ansible_collections.dpg.cluster.plugins.modules import citus_distributed_table as mod

from tests.unit.fake_citus import FakeCitus
from tests.unit.helpers import run_module


@pytest.fixture
def citus(monkeypatch):
    fake = FakeCitus()
    fake.add_table("distributed.users", {"user_id": "bigint", "email": "text"})
    fake.add_table("distributed.events", {"event_id": "bigint", "user_id": "bigint", "tenant": "uuid"})
    fake.add_table("reference.country_codes", {"code": "text"})
    fake.add_table('"Odd; Schema"."ta""ble"', {"Id": "bigint"})
    monkeypatch.setattr(_postgres, "Session", fake.connect)
    return fake


def run(args, **kw):
    return run_module(mod.main, dict(login_db="citus", **args), **kw)


def test_distribute_then_rerun_is_unchanged(citus):
    res, failed = run(dict(table="distributed.users", distribution_column="user_id", colocate_with="none"), diff=True)
    assert not failed, res
    assert res["changed"] is True
    assert res["before"] is None
    assert res["after"]["type"] == "hash" and res["after"]["shard_count"] == 32
    assert any("create_distributed_table(" in q and "'none'" in q for q in res["queries"])
    assert res["diff"]["after"]["distribution_column"] == "user_id"
    res, failed = run(dict(table="distributed.users", distribution_column="user_id", colocate_with="none"))
    assert not failed and res["changed"] is False
    assert len(citus.executed) == 1


def test_colocate_with_other_table(citus):
    citus.distribute("distributed.users", "user_id", 32, "none")
    res, failed = run(dict(table="distributed.events", distribution_column="user_id",
                           colocate_with="distributed.users"))
    assert not failed, res
    users = citus.tables[("distributed", "users")]["part"]["colocationid"]
    assert citus.tables[("distributed", "events")]["part"]["colocationid"] == users
    res, failed = run(dict(table="distributed.events", distribution_column="user_id",
                           colocate_with="distributed.users"))
    assert not failed and res["changed"] is False


def test_check_mode_runs_nothing(citus):
    res, failed = run(dict(table="distributed.users", distribution_column="user_id", shard_count=64),
                      check_mode=True)
    assert not failed and res["changed"] is True
    assert citus.executed == []
    assert citus.tables[("distributed", "users")]["part"] is None
    assert any("shard_count => 64" in q for q in res["queries"])


def test_reference_and_local_and_single_shard(citus):
    res, failed = run(dict(table="reference.country_codes", type="reference"))
    assert not failed and res["after"]["type"] == "reference"
    res, failed = run(dict(table="reference.country_codes", type="reference"))
    assert res["changed"] is False
    citus.add_table("local.system_config", {"k": "text"})
    res, failed = run(dict(table="local.system_config", type="local"))
    assert not failed and res["after"]["type"] == "local"
    citus.add_table("app.settings", {"k": "text"})
    res, failed = run(dict(table="app.settings", type="single_shard"))
    assert not failed and res["after"]["type"] == "single_shard"
    res, failed = run(dict(table="app.settings", type="single_shard"))
    assert not failed and res["changed"] is False


def test_reference_vs_hash_difference_is_an_error_without_alter(citus):
    run(dict(table="reference.country_codes", type="reference"))
    res, failed = run(dict(table="reference.country_codes", distribution_column="code"))
    assert failed
    assert "table is reference, task wants hash" in res["msg"] and "alter: true" in res["msg"]
    assert len(citus.executed) == 1  # only the first run's create_reference_table


def test_different_column_or_shard_count_needs_alter(citus):
    citus.distribute("distributed.events", "event_id", 32, "none")
    res, failed = run(dict(table="distributed.events", distribution_column="user_id", shard_count=64))
    assert failed
    assert "distribution column is event_id, task wants user_id" in res["msg"]
    assert "shard count is 32, task wants 64" in res["msg"]
    assert citus.executed == []
    res, failed = run(dict(table="distributed.events", distribution_column="user_id", shard_count=64, alter=True),
                      diff=True)
    assert not failed, res
    assert "alter_distributed_table" in res["queries"][-1]
    assert res["diff"]["before"]["distribution_column"] == "event_id"
    assert res["after"]["distribution_column"] == "user_id" and res["after"]["shard_count"] == 64


def test_alter_reference_to_hash_undistributes_first(citus):
    run(dict(table="reference.country_codes", type="reference"))
    res, failed = run(dict(table="reference.country_codes", distribution_column="code", alter=True))
    assert not failed, res
    calls = [q.split("(")[0] for q, a in citus.executed][-2:]
    assert calls == ["SELECT pg_catalog.undistribute_table", "SELECT pg_catalog.create_distributed_table"]


def test_absent_undistributes_and_is_idempotent(citus):
    citus.distribute("distributed.users", "user_id")
    res, failed = run(dict(table="distributed.users", state="absent"))
    assert not failed and res["changed"] is True and res["after"] is None
    res, failed = run(dict(table="distributed.users", state="absent"))
    assert not failed and res["changed"] is False
    res, failed = run(dict(table="no.such_table", state="absent"))
    assert not failed and res["changed"] is False and res["exists"] is False


def test_odd_identifiers_are_bound_not_spliced(citus):
    res, failed = run(dict(table='"Odd; Schema"."ta""ble"', distribution_column="Id"))
    assert not failed, res
    assert res["table"] == '"Odd; Schema"."ta""ble"'
    query, args = citus.executed[0]
    assert "Odd" not in query and ";" not in query.replace("%s", "")
    assert args[1] == "Id"


@pytest.mark.parametrize("args,message", [
    (dict(table="no.such_table", distribution_column="id"), "table no.such_table does not exist in database citus"),
    (dict(table="distributed.users", distribution_column="nope"), "column nope does not exist in table distributed.users"),
    (dict(table="distributed.users", distribution_column="user_id", shard_count=0), "shard_count must be between 1 and 64000"),
    (dict(table="distributed.users", distribution_column="user_id", shard_count=64001), "shard_count must be between 1 and 64000"),
    (dict(table="distributed.users"), "type=hash needs distribution_column"),
    (dict(table="reference.country_codes", type="reference", distribution_column="code"), "applies only to type=hash"),
    (dict(table="distributed.users", distribution_column="user_id", colocate_with="distributed.events",
          shard_count=8), "shard_count cannot be combined with colocate_with"),
    (dict(table="distributed.users", distribution_column="user_id", colocate_with="no.table"),
     "colocate_with table no.table does not exist"),
    (dict(table="x; DROP TABLE y", distribution_column="id"), "does not exist"),
    (dict(table="reference.country_codes", type="reference", concurrently=True), "concurrently applies only"),
])
def test_bad_input_fails_clearly_and_changes_nothing(citus, args, message):
    res, failed = run(args)
    assert failed
    assert message in res["msg"]
    assert citus.executed == []


def test_colocate_with_different_column_type_fails(citus):
    citus.distribute("distributed.events", "tenant", 32, "none")
    res, failed = run(dict(table="distributed.users", distribution_column="user_id", colocate_with="distributed.events"))
    assert failed
    assert "distributed by tenant (uuid) but column user_id of distributed.users is bigint" in res["msg"]
    assert citus.executed == []


def test_colocate_with_undistributed_table_fails(citus):
    res, failed = run(dict(table="distributed.events", distribution_column="user_id", colocate_with="distributed.users"))
    assert failed and "is not hash-distributed; distribute it first" in res["msg"]


def test_requires_coordinator_and_extension(citus):
    citus.coordinator = False
    res, failed = run(dict(table="distributed.users", distribution_column="user_id"))
    assert failed and "not the Citus coordinator" in res["msg"]
    citus.citus = False
    res, failed = run(dict(table="distributed.users", distribution_column="user_id"))
    assert failed and "citus extension is not installed" in res["msg"]


def test_server_error_is_reported_with_statement(citus):
    citus.fail_on = "create_distributed_table"
    res, failed = run(dict(table="distributed.users", distribution_column="user_id"))
    assert failed
    assert "create_distributed_table" in res["msg"] and "injected failure" in res["msg"]


def test_autoconverted_local_table_becomes_reference_without_alter(citus):
    """A foreign key to a reference table makes Citus turn the referencing table Citus-local by itself."""
    citus.add_table("reference.regions", {"region_id": "integer", "code": "text"})
    citus.tables[("reference", "regions")]["part"] = dict(partmethod="n", column=None, colocationid=0, repmodel="s",
                                                          shards=1, autoconverted=True)
    res, failed = run(dict(table="reference.regions", type="reference"))
    assert not failed, res
    assert res["before"]["type"] == "local" and res["after"]["type"] == "reference"


def test_chosen_local_table_still_needs_alter(citus):
    citus.add_table("local.cfg", {"k": "text"})
    run(dict(table="local.cfg", type="local"))
    res, failed = run(dict(table="local.cfg", type="reference"))
    assert failed and "table is local, task wants reference" in res["msg"]
