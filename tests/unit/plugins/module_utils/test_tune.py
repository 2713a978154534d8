"""PGTune parity (module_utils/_tune.py) and the places where we differ on purpose.

Expected values are worked by hand from le0pard/pgtune's configurationSlice.js (commit 01bb644):
memory in kB, floored; GB/MB only when the value divides exactly.
"""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils import _tune

GB = 1024 * 1024  # kB

PARITY = [
    # (memory kB, cpus, type, storage, connections, expected subset)
    (16 * GB, 4, "web", "ssd", None, {
        "max_connections": "200", "shared_buffers": "4GB", "effective_cache_size": "12GB",
        "maintenance_work_mem": "1GB", "huge_pages": "try", "min_wal_size": "1GB", "max_wal_size": "4GB",
        "checkpoint_completion_target": "0.9", "wal_buffers": "16MB", "default_statistics_target": "100",
        "random_page_cost": "1.1", "effective_io_concurrency": "200", "max_worker_processes": "4",
        "max_parallel_workers_per_gather": "2", "max_parallel_workers": "4",
        "max_parallel_maintenance_workers": "2",
        # (16777216 - 4194304) / ((200 + 4) * 3) = 20560.3
        "work_mem": "20560kB", "jit": "off", "wal_compression": "lz4"}),
    (64 * GB, 16, "dw", "hdd", 300, {
        "max_connections": "300", "shared_buffers": "16GB", "effective_cache_size": "48GB",
        "maintenance_work_mem": "8GB", "huge_pages": "try", "min_wal_size": "4GB", "max_wal_size": "16GB",
        "default_statistics_target": "500", "random_page_cost": "4", "effective_io_concurrency": "2",
        "max_worker_processes": "16", "max_parallel_workers_per_gather": "8", "max_parallel_workers": "16",
        "max_parallel_maintenance_workers": "4",
        # (67108864 - 16777216) / ((300 + 16) * 3) / 2 = 26546.2
        "work_mem": "26546kB", "autovacuum_max_workers": "4", "autovacuum_work_mem": "2GB"}),
    (2 * GB, 2, "oltp", "nvme", None, {
        "max_connections": "300", "shared_buffers": "512MB", "effective_cache_size": "1536MB",
        "maintenance_work_mem": "128MB", "huge_pages": "off", "min_wal_size": "2GB", "max_wal_size": "8GB",
        # 3% of 512MB = 15728kB, between 14MB and 16MB: rounded up
        "wal_buffers": "16MB", "effective_io_concurrency": "1000",
        # (2097152 - 524288) / ((300 + 8) * 3) = 1702 -> 4MB floor
        "work_mem": "4MB", "jit": "off"}),
    (8 * GB, 4, "desktop", "ssd", None, {
        "max_connections": "20", "shared_buffers": "512MB", "effective_cache_size": "2GB",
        "maintenance_work_mem": "512MB", "huge_pages": "off", "min_wal_size": "100MB", "max_wal_size": "2GB",
        # (8388608 - 524288) / ((20 + 4) * 3) / 6 = 18204.4
        "work_mem": "18204kB"}),
    (32 * GB, 8, "mixed", "san", 100, {
        "shared_buffers": "8GB", "effective_cache_size": "24GB", "maintenance_work_mem": "2GB",
        "effective_io_concurrency": "300", "max_parallel_workers_per_gather": "4",
        "max_parallel_maintenance_workers": "4",
        # (33554432 - 8388608) / ((100 + 8) * 3) / 2 = 38836.1
        "work_mem": "38836kB", "jit": "off", "autovacuum_work_mem": "2GB"}),
]


@pytest.mark.parametrize("mem,cpus,db_type,storage,conns,expected", PARITY,
                         ids=[p[2] + "-" + str(p[0] // GB) + "GB" for p in PARITY])
def test_pgtune_parity(mem, cpus, db_type, storage, conns, expected):
    out = _tune.compute(mem, cpus, db_type, storage, conns, 17)
    got = {k: out[k][0] for k in expected}
    assert got == expected
    assert all(reason for value, reason in out.values())


def test_fewer_than_four_cpus_sets_no_parallel_settings():
    out = _tune.compute(4 * GB, 2, "web", "ssd", None, 17)
    assert "max_worker_processes" not in out and "max_parallel_workers" not in out


def test_dw_and_desktop_omit_jit():
    assert "jit" not in _tune.compute(8 * GB, 4, "dw", "ssd", None, 17)
    assert "jit" not in _tune.compute(8 * GB, 4, "desktop", "ssd", None, 17)


def test_older_versions():
    out = _tune.compute(8 * GB, 4, "web", "ssd", None, 14)
    assert out["wal_compression"][0] == "on"


def test_deliberate_difference_desktop_keeps_replication():
    """PGTune's desktop type sets wal_level=minimal and max_wal_senders=0; we never do."""
    out = _tune.compute(8 * GB, 4, "desktop", "ssd", None, 17)
    assert "wal_level" not in out and "max_wal_senders" not in out


def test_tiny_wal_buffers_floor():
    out = _tune.compute(1024, 1, "web", "ssd", None, 17)  # 1 MB of memory
    assert out["wal_buffers"][0] == "32kB"


@pytest.mark.parametrize("alias,db_type", [("read-heavy", "web"), ("write-heavy", "oltp"), ("mixed", "mixed"),
                                           ("dw", "dw")])
def test_profile_aliases(alias, db_type):
    assert _tune.resolve_profile(alias) == db_type


def test_unknown_profile_rejected():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        _tune.resolve_profile("fast")


@pytest.mark.parametrize("kwargs,message", [
    (dict(memory_kb=0, cpus=1), "positive"),
    (dict(memory_kb=GB, cpus=0), "positive"),
    (dict(memory_kb=GB, cpus=1, storage="tape"), "storage"),
    (dict(memory_kb=GB, cpus=1, db_type="olap"), "db_type"),
    (dict(memory_kb=GB, cpus=1, max_connections=-5), "max_connections"),
])
def test_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _tune.compute(**kwargs)


@pytest.mark.parametrize("stats,expected", [
    ({}, "mixed"),
    ({"tup_fetched": 1000, "tup_inserted": 10}, "web"),
    ({"tup_fetched": 100, "tup_inserted": 50, "tup_updated": 30}, "oltp"),
    ({"tup_fetched": 800, "tup_inserted": 150}, "mixed"),
])
def test_auto_profile(stats, expected):
    assert _tune.choose_profile(stats)[0] == expected


def test_cgroup_limit_wins_when_lower():
    assert _tune.parse_cgroup_limit_kb("max\n") is None
    assert _tune.parse_cgroup_limit_kb("9223372036854771712") is None  # v1 unlimited
    limit = _tune.parse_cgroup_limit_kb(str(2 * 1024 ** 3))
    assert limit == 2 * GB
    host = _tune.parse_meminfo_kb("MemTotal:       24576000 kB\nMemFree: 1 kB\n")
    assert host == 24576000
    assert _tune.effective_memory_kb(host, limit) == (2 * GB, "cgroup")
    assert _tune.effective_memory_kb(host, None) == (24576000, "meminfo")
    assert _tune.effective_memory_kb(GB, 4 * GB) == (GB, "meminfo")


@pytest.mark.parametrize("value,kb", [("4GB", 4 * GB), ("512MB", 512 * 1024), ("16kB", 16), ("8192", 8192),
                                      ("1.5GB", 1572864)])
def test_parse_size(value, kb):
    assert _tune.parse_size_kb(value) == kb


def test_format_kb():
    assert _tune.format_kb(GB) == "1GB"
    assert _tune.format_kb(1536 * 1024) == "1536MB"
    assert _tune.format_kb(20560) == "20560kB"
