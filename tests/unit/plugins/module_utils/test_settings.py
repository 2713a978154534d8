"""_settings.same_setting: one comparison of setting values for every module."""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils._settings import canonical, same_setting


@pytest.mark.parametrize("left,right", [
    ("4GB", "4096MB"), ("1GB", "1048576kB"), ("on", "true"), (True, "on"), ("off", False), ("yes", "on"),
    ("1s", "1000ms"), ("15min", "900s"), ("1h", "60min"), ("30", 30), ("30", "30.0"), (0.9, "0.9"),
    ("1", "on"), (0, "off"), ("ON", "on"), (None, None),
])
def test_same_value_in_another_spelling(left, right):
    assert same_setting(left, right) and same_setting(right, left)


@pytest.mark.parametrize("left,right", [
    ("4GB", "2GB"), ("on", "off"), ("1s", "1min"), ("16384", "128MB"), ("2", "on"), (None, "0"),
    ("30", "31"), ("replica", "logical"), ("1GB", "1s"),
    ("%m [%p] ", "%m [%p]"), ("/var/lib/Archive", "/var/lib/archive"),
])
def test_different_values(left, right):
    assert not same_setting(left, right) and not same_setting(right, left)


def test_canonical_shapes():
    assert canonical("4GB") == ("memory", 4 * 1024 ** 3)
    assert canonical("250ms") == ("time", 250000.0)
    assert canonical("on") == ("bool", True)
    assert canonical(10) == ("number", 10.0)
    assert canonical("pg_stat_statements") == ("text", "pg_stat_statements")
    assert canonical("%m [%p] ") == ("text", "%m [%p] ")
    assert canonical(None) is None
