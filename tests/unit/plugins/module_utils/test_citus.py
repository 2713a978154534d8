"""_citus pure helpers: skew, table kinds, identifiers."""

from ansible_collections.dpg.cluster.plugins.module_utils import _citus


# ---- pure helpers ------------------------------------------------------------------------------

def test_skew_and_table_type():
    assert _citus.skew({}) == 0.0
    assert _citus.skew({"a": 0, "b": 0}) == 0.0
    assert _citus.skew({"a": 16, "b": 16}) == 0.0
    assert _citus.skew({"a": 24, "b": 8}) == 50.0
    assert _citus.table_type(dict(partmethod="n", repmodel="t", colocationid=5, shard_count=1)) == "reference"
    assert _citus.table_type(dict(partmethod="n", repmodel="s", colocationid=0, shard_count=1)) == "local"
    assert _citus.table_type(dict(partmethod="n", repmodel="s", colocationid=9, shard_count=1)) == "single_shard"
    assert _citus.table_type(None) is None
    assert _citus.quote_ident("users") == "users" and _citus.quote_ident('Ta"b') == '"Ta""b"'
