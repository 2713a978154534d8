# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Figures of the benchmark modules: latency percentiles, recall, pgbench output and logs.

Every latency here is in milliseconds (float); every duration in seconds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os
import re

PERCENTILES = (50, 95, 99)

# pgvector 0.8: an HNSW or IVFFlat index on a ``vector`` column takes at most 2,000 dimensions
# (the type itself takes 16,000); pgvector README, "Indexing".
PGVECTOR_MAX_INDEX_DIMENSIONS = 2000


def percentile(sorted_values, p):
    """The p-th percentile of ``sorted_values`` by the nearest-rank method.

    :param sorted_values: numbers in ascending order (list), not empty.
    :param p: percentile, 0 < p <= 100.
    :returns: the value at rank ceil(p / 100 * n) (1-based): always one of the samples, never an
        interpolation (Hyndman and Fan, "Sample quantiles in statistical packages", 1996, definition 1).
    :raises ValueError: on an empty list or p outside (0, 100].
    """
    if not sorted_values:
        raise ValueError('no samples')
    if not 0 < p <= 100:
        raise ValueError('percentile %r is outside (0, 100]' % p)
    rank = int(math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[max(rank, 1) - 1]


def latency_summary(samples_ms):
    """Summary of latencies (ms): dict count, mean, p50, p95, p99, max (rounded to 3 decimals).

    An empty list gives count 0 and None for every figure.
    """
    values = sorted(samples_ms)
    if not values:
        return dict(count=0, mean=None, p50=None, p95=None, p99=None, max=None)
    summary = dict(count=len(values), mean=round(sum(values) / len(values), 3), max=round(values[-1], 3))
    for p in PERCENTILES:
        summary['p%d' % p] = round(percentile(values, p), 3)
    return summary


def recall_at_k(found, truth, k):
    """recall@k of one query: |found[:k] ∩ truth[:k]| / min(k, len(truth)) (float, 0..1).

    :param found: ids the approximate search returned, best first.
    :param truth: ids of the exact search, best first.
    :returns: 1.0 when ``truth`` is empty (nothing to find).
    """
    truth_k = set(truth[:k])
    if not truth_k:
        return 1.0
    return len(truth_k.intersection(found[:k])) / float(len(truth_k))


_PGBENCH_FIGURES = (
    ('transactions', r'number of transactions actually processed: (\d+)', int),
    ('failed_transactions', r'number of failed transactions: (\d+)', int),
    ('latency_average_ms', r'latency average = ([0-9.]+) ms', float),
    ('initial_connection_ms', r'initial connection time = ([0-9.]+) ms', float),
    # pgbench -C prints 'including reconnection times' and the average connection time instead
    ('tps', r'tps = ([0-9.]+) \((?:without initial connection time|including reconnection times)\)', float),
    ('average_connection_ms', r'average connection time = ([0-9.]+) ms', float),
    ('clients', r'number of clients: (\d+)', int),
    ('duration_s', r'duration: (\d+) s', int),
)
_PROGRESS = re.compile(r'progress: ([0-9.]+) s, ([0-9.]+) tps, lat ([0-9.]+|NaN) ms')
# 'client 3 aborted in command 1 ...' and, for an SQL error, 'client 3 script 0 aborted in command 1 query 0: ...'
_ABORTED = re.compile(r'client (\d+) (?:script \d+ )?aborted')


def parse_pgbench_output(stdout, stderr):
    """Figures from pgbench's summary (stdout) and progress / error lines (stderr), PostgreSQL 14-17 format.

    :returns: dict with transactions, failed_transactions, latency_average_ms, initial_connection_ms, tps,
        average_connection_ms (with -C), clients, duration_s (None when pgbench did not print it, e.g. after a
        failed start),
        progress (list of {t_s, tps, latency_ms}), aborted_clients (int) and errors (the distinct
        ``pgbench: error:`` lines, at most 10).
    """
    figures = {}
    for name, pattern, cast in _PGBENCH_FIGURES:
        match = re.search(pattern, stdout or '')
        figures[name] = cast(match.group(1)) if match else None
    progress = []
    for match in _PROGRESS.finditer(stderr or ''):
        tps, latency = float(match.group(2)), match.group(3)
        # an interval without a transaction prints 'lat 0.000 ms' (PostgreSQL 17) or NaN: no latency then
        progress.append(dict(t_s=float(match.group(1)), tps=tps,
                             latency_ms=None if latency == 'NaN' or tps == 0 else float(latency)))
    errors = []
    for line in (stderr or '').splitlines() + (stdout or '').splitlines():
        if 'error:' in line and line.strip() not in errors:
            errors.append(line.strip())
    figures.update(progress=progress, aborted_clients=len(set(_ABORTED.findall(stderr or ''))), errors=errors[:10])
    return figures


def read_pgbench_logs(directory, prefix):
    """Latencies (ms) and failures from pgbench's per-transaction logs (``-l --log-prefix``).

    A log line is ``client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]``
    where ``time`` is the transaction's latency in microseconds, or a word (``failed``, ``serialization``,
    ``deadlock``) for a transaction that failed (PostgreSQL docs, "pgbench: Per-Transaction Logging").

    :param directory: where pgbench wrote ``<prefix>.<pid>`` and ``<prefix>.<pid>.<thread>``.
    :returns: (latencies_ms list, failed count).
    """
    latencies, failed = [], 0
    for name in sorted(os.listdir(directory)):
        if not name.startswith(prefix + '.'):
            continue
        with open(os.path.join(directory, name)) as log:
            for line in log:
                fields = line.split()
                if len(fields) < 3:
                    continue
                if fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000.0)
                else:
                    failed += 1
    return latencies, failed
