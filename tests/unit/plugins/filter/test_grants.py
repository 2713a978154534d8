"""user_grants: the privileges each profile gives, and its errors."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.grants import user_grants

DBS = [{"name": "dpg", "owner": "dpg_app"}, {"name": "other"}]


def test_owner_needs_no_grant():
    assert user_grants([{"name": "dpg_app", "databases": ["dpg"], "profile": "owner"}], DBS) == []
    assert user_grants([{"name": "dpg_app", "databases": ["dpg"]}], DBS) == []


def test_readonly_rows():
    rows = user_grants([{"name": "ro", "databases": ["dpg"], "profile": "readonly"}], DBS)
    kinds = [(r["type"], r["objs"], r["schema"], r["privs"], r["target_roles"]) for r in rows]
    assert kinds == [
        ("database", "dpg", None, "CONNECT", None),
        ("schema", "public", None, "USAGE", None),
        ("table", "ALL_IN_SCHEMA", "public", "SELECT", None),
        ("sequence", "ALL_IN_SCHEMA", "public", "SELECT", None),
        ("default_privs", "TABLES", "public", "SELECT", "dpg_app"),
        ("default_privs", "SEQUENCES", "public", "SELECT", "dpg_app"),
    ]
    assert {r["role"] for r in rows} == {"ro"} and {r["db"] for r in rows} == {"dpg"}


def test_readwrite_schemas_and_default_owner():
    rows = user_grants([{"name": "rw", "databases": ["other"], "profile": "readwrite",
                         "schemas": ["a", "b"]}], DBS)
    tables = [r for r in rows if r["type"] == "table"]
    assert [r["schema"] for r in tables] == ["a", "b"]
    assert tables[0]["privs"] == "SELECT,INSERT,UPDATE,DELETE"
    defaults = [r for r in rows if r["type"] == "default_privs"]
    assert {r["target_roles"] for r in defaults} == {"postgres"}
    assert [r["schema"] for r in defaults] == ["a", "a", "b", "b"]


@pytest.mark.parametrize("users, match", [
    ([{"databases": ["dpg"]}], "needs a name"),
    ([{"name": "x", "databases": ["dpg"], "profile": "admin"}], "profile 'admin'"),
    ([{"name": "x", "databases": ["nope"], "profile": "readonly"}], "database nope"),
    ("x", "must be lists"),
])
def test_errors(users, match):
    with pytest.raises(AnsibleFilterError, match=match):
        user_grants(users, DBS)
