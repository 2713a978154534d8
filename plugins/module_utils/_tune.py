# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL settings from host resources: PGTune's formulas, no I/O.

Source of the formulas: le0pard/pgtune, ``src/features/configuration/configurationSlice.js``
(commit 01bb644, 2026). Memory is handled in kB and floored, as there. Where we differ, on
purpose, the function :func:`compute` says so in the reason it returns:

* ``wal_level = minimal`` and ``max_wal_senders = 0`` (PGTune's desktop type) are never emitted:
  they break streaming replication, which every cluster of ours uses.
* Memory is the cgroup limit when one is set (see :func:`effective_memory_kb`), not the host's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

KB_PER_MB = 1024
KB_PER_GB = 1024 * 1024

DB_TYPES = ('web', 'oltp', 'dw', 'desktop', 'mixed')
# The seeds' workload modes, mapped onto PGTune's types (shared/reference/pgtune.md).
PROFILE_ALIASES = {'read-heavy': 'web', 'write-heavy': 'oltp'}
STORAGE_TYPES = ('hdd', 'ssd', 'san', 'nvme')

DEFAULT_MAX_CONNECTIONS = {'web': 200, 'oltp': 300, 'dw': 40, 'desktop': 20, 'mixed': 100}
# PGTune's DEFAULT_DB_SETTINGS: max_worker_processes assumed when fewer than 4 CPUs.
DEFAULT_MAX_WORKER_PROCESSES = 8

# Settings whose new value takes effect only after a restart (pg_settings.context = postmaster).
RESTART_SETTINGS = frozenset((
    'shared_buffers', 'huge_pages', 'max_connections', 'max_worker_processes', 'wal_buffers',
    'max_wal_senders', 'wal_level', 'max_prepared_transactions', 'max_locks_per_transaction',
    'shared_preload_libraries', 'autovacuum_max_workers',
))

# cgroup v1 reports "no limit" as a page-rounded LONG_MAX.
_CGROUP_V1_UNLIMITED = 1 << 60


def resolve_profile(profile):
    """Map a workload profile to a PGTune type.

    :param profile: one of DB_TYPES, 'read-heavy' (web) or 'write-heavy' (oltp).
    :returns: the PGTune type (str).
    :raises ValueError: for any other name.
    """
    db_type = PROFILE_ALIASES.get(profile, profile)
    if db_type not in DB_TYPES:
        raise ValueError('unknown profile %r: use one of %s, read-heavy, write-heavy or auto'
                         % (profile, ', '.join(DB_TYPES)))
    return db_type


def choose_profile(stats):
    """Pick a PGTune type for ``profile: auto`` from pg_stat_database counters.

    :param stats: dict with tup_fetched, tup_inserted, tup_updated, tup_deleted (ints, summed over
        databases since the last stats reset).
    :returns: ``(db_type, reason)``: 'oltp' when writes are 30 % or more of fetched + written
        rows, 'web' when 10 % or less, otherwise 'mixed' (also when there is no activity yet).
    """
    writes = sum(int(stats.get(k) or 0) for k in ('tup_inserted', 'tup_updated', 'tup_deleted'))
    reads = int(stats.get('tup_fetched') or 0)
    total = reads + writes
    if total == 0:
        return 'mixed', 'no activity recorded yet: mixed'
    share = 100.0 * writes / total
    if share >= 30:
        return 'oltp', 'writes are %.1f%% of rows touched (>= 30%%): write-heavy (oltp)' % share
    if share <= 10:
        return 'web', 'writes are %.1f%% of rows touched (<= 10%%): read-heavy (web)' % share
    return 'mixed', 'writes are %.1f%% of rows touched: mixed' % share


def parse_meminfo_kb(text):
    """MemTotal in kB from the text of /proc/meminfo; None when absent."""
    for line in text.splitlines():
        if line.startswith('MemTotal:'):
            return int(line.split()[1])
    return None


def parse_cgroup_limit_kb(text):
    """A cgroup memory limit in kB from memory.max (v2) or memory.limit_in_bytes (v1).

    :returns: int kB, or None for 'max', an empty file or v1's "unlimited" value.
    """
    text = (text or '').strip()
    if not text or text == 'max':
        return None
    value = int(text)
    if value >= _CGROUP_V1_UNLIMITED:
        return None
    return value // 1024


def effective_memory_kb(meminfo_kb, cgroup_kb):
    """The memory PostgreSQL may use: the smaller of the host's and the cgroup's, in kB.

    :returns: ``(kb, source)`` with source 'cgroup' or 'meminfo'.
    :raises ValueError: when neither is known.
    """
    if cgroup_kb is not None and (meminfo_kb is None or cgroup_kb < meminfo_kb):
        return cgroup_kb, 'cgroup'
    if meminfo_kb is None:
        raise ValueError('memory size unknown: set memory_mb')
    return meminfo_kb, 'meminfo'


def format_kb(kb):
    """Render kB the way PGTune does: GB or MB only when the value divides exactly."""
    kb = int(kb)
    if kb % KB_PER_GB == 0:
        return '%dGB' % (kb // KB_PER_GB)
    if kb % KB_PER_MB == 0:
        return '%dMB' % (kb // KB_PER_MB)
    return '%dkB' % kb


def parse_size_kb(value):
    """Parse a PostgreSQL memory value ('4GB', '512MB', '16kB', '8192' in kB) to kB (int)."""
    s = str(value).strip()
    units = (('TB', KB_PER_GB * 1024), ('GB', KB_PER_GB), ('MB', KB_PER_MB), ('kB', 1), ('B', None))
    for suffix, factor in units:
        if s.endswith(suffix):
            number = float(s[:-len(suffix)].strip())
            return int(number // 1024) if factor is None else int(number * factor)
    return int(float(s))


def compute(memory_kb, cpus, db_type='web', storage='ssd', max_connections=None, version=17):
    """PGTune's settings for one server.

    :param memory_kb: memory PostgreSQL may use, kB (int > 0).
    :param cpus: CPU count (int > 0).
    :param db_type: one of DB_TYPES (see :func:`resolve_profile`).
    :param storage: one of STORAGE_TYPES.
    :param max_connections: int, or None for PGTune's default of the type.
    :param version: PostgreSQL major version (int).
    :returns: dict ``name -> (value str, reason str)`` in PGTune's order.
    :raises ValueError: on a bad input, naming it.
    """
    if db_type not in DB_TYPES:
        raise ValueError('db_type must be one of %s' % ', '.join(DB_TYPES))
    if storage not in STORAGE_TYPES:
        raise ValueError('storage must be one of %s' % ', '.join(STORAGE_TYPES))
    if int(memory_kb) <= 0 or int(cpus) <= 0:
        raise ValueError('memory and cpus must be positive')
    if max_connections is not None and int(max_connections) <= 0:
        raise ValueError('max_connections must be positive')
    mem = int(memory_kb)
    cpus = int(cpus)
    out = {}
    mem_txt = format_kb(mem)

    conns = int(max_connections) if max_connections else DEFAULT_MAX_CONNECTIONS[db_type]
    out['max_connections'] = (str(conns), 'given' if max_connections else 'PGTune default for %s' % db_type)

    sb = mem // 16 if db_type == 'desktop' else mem // 4
    out['shared_buffers'] = (format_kb(sb), '%s of %s memory' % ('1/16' if db_type == 'desktop' else '1/4', mem_txt))

    ecs = mem // 4 if db_type == 'desktop' else (mem * 3) // 4
    out['effective_cache_size'] = (format_kb(ecs), '%s of %s memory' % ('1/4' if db_type == 'desktop' else '3/4', mem_txt))

    mwm = mem // 8 if db_type == 'dw' else mem // 16
    cap = 8 * KB_PER_GB
    mwm_reason = '%s of memory' % ('1/8' if db_type == 'dw' else '1/16')
    if mwm >= cap:
        mwm, mwm_reason = cap, mwm_reason + ', capped at 8GB'
    out['maintenance_work_mem'] = (format_kb(mwm), mwm_reason)

    out['huge_pages'] = ('try' if sb >= 2 * KB_PER_GB else 'off',
                         'shared_buffers %s 2GB' % ('>=' if sb >= 2 * KB_PER_GB else '<'))

    wal_sizes = {'web': (1024, 4096), 'oltp': (2048, 8192), 'dw': (4096, 16384),
                 'desktop': (100, 2048), 'mixed': (1024, 4096)}[db_type]
    out['min_wal_size'] = (format_kb(wal_sizes[0] * KB_PER_MB), 'PGTune value for %s' % db_type)
    out['max_wal_size'] = (format_kb(wal_sizes[1] * KB_PER_MB), 'PGTune value for %s' % db_type)
    out['checkpoint_completion_target'] = ('0.9', 'spread checkpoints over 90% of the interval')

    wb = (3 * sb) // 100
    wb_reason = '3% of shared_buffers'
    if wb > 16 * KB_PER_MB:
        wb, wb_reason = 16 * KB_PER_MB, wb_reason + ', capped at 16MB'
    if 14 * KB_PER_MB < wb < 16 * KB_PER_MB:
        wb, wb_reason = 16 * KB_PER_MB, wb_reason + ', rounded up to 16MB'
    if wb < 32:
        wb, wb_reason = 32, 'minimum 32kB'
    out['wal_buffers'] = (format_kb(wb), wb_reason)

    out['default_statistics_target'] = ('500' if db_type == 'dw' else '100', 'PGTune value for %s' % db_type)
    out['random_page_cost'] = ('4' if storage == 'hdd' else '1.1', 'storage %s' % storage)
    out['effective_io_concurrency'] = (str({'hdd': 2, 'ssd': 200, 'san': 300, 'nvme': 1000}[storage]),
                                       'storage %s (Linux)' % storage)

    workers_for_work_mem = DEFAULT_MAX_WORKER_PROCESSES
    if cpus >= 4:
        per_gather = int(math.ceil(cpus / 2.0))
        if db_type != 'dw' and per_gather > 4:
            per_gather = 4
        out['max_worker_processes'] = (str(cpus), '%d CPUs' % cpus)
        out['max_parallel_workers_per_gather'] = (str(per_gather), 'half the CPUs%s' % ('' if db_type == 'dw' else ', at most 4'))
        if version >= 10:
            out['max_parallel_workers'] = (str(cpus), '%d CPUs' % cpus)
        if version >= 11:
            out['max_parallel_maintenance_workers'] = (str(min(int(math.ceil(cpus / 2.0)), 4)), 'half the CPUs, at most 4')
        workers_for_work_mem = cpus

    base = (mem - sb) / float((conns + workers_for_work_mem) * 3)
    divisor = {'web': 1, 'oltp': 1, 'dw': 2, 'desktop': 6, 'mixed': 2}[db_type]
    wm = int(math.floor(base / divisor))
    wm_reason = '(memory - shared_buffers) / ((max_connections + %d workers) * 3)%s' % (
        workers_for_work_mem, '' if divisor == 1 else ' / %d' % divisor)
    if wm < 4 * KB_PER_MB:
        wm, wm_reason = 4 * KB_PER_MB, wm_reason + ', raised to the 4MB floor'
    out['work_mem'] = (format_kb(wm), wm_reason)

    if version >= 12 and db_type in ('web', 'oltp', 'mixed'):
        out['jit'] = ('off', 'short queries: JIT costs more than it saves')
    if version >= 15:
        out['wal_compression'] = ('lz4', 'PostgreSQL >= 15')
    elif version >= 10:
        out['wal_compression'] = ('on', 'PostgreSQL 10-14')

    if cpus >= 32:
        out['autovacuum_max_workers'] = ('5', '32 CPUs or more')
    elif cpus >= 16:
        out['autovacuum_max_workers'] = ('4', '16 CPUs or more')
    if mwm >= 2 * KB_PER_GB:
        out['autovacuum_work_mem'] = ('2GB', 'maintenance_work_mem >= 2GB: cap each autovacuum worker')
    # PGTune's desktop type also sets wal_level=minimal and max_wal_senders=0. We never do:
    # every dpg.cluster node streams WAL to replicas.
    return out
