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


def test_identifiers_longer_than_63_bytes_are_refused():
    """PostgreSQL truncates a name to 63 bytes without a word and would then act on another object."""
    import pytest  # pylint: disable=import-outside-toplevel
    assert _citus.split_identifier("a" * 63) == ["a" * 63]
    assert _citus.split_identifier('s.' + '"' + "B" * 63 + '"') == ["s", "B" * 63]
    for name in ("a" * 64, "public." + "b" * 64, '"' + "\u00e9" * 32 + '"'):   # 64 bytes: é is 2 in UTF-8
        with pytest.raises(_citus.CitusError, match="63"):
            _citus.split_identifier(name)
    assert _citus.split_identifier('Sales."Order Items"') == ["sales", "Order Items"]
    with pytest.raises(_citus.CitusError, match="unterminated"):
        _citus.split_identifier('"abc')
