# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark decisions: settings checked before any load, figures judged against the seeds' targets,
and the tables and charts of the report (rendered by the benchmark_report module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# The seeds' targets (sprint 0 "success criteria" and sprint 8 "performance validation").
DEFAULT_TARGETS = {
    'read_ops_s': 10000,
    'write_ops_s': 5000,
    'latency_p50_ms': 10,
    'latency_p95_ms': 50,
    'latency_p99_ms': 200,
    'shard_skew_pct': 20,
    'vector_latency_ms': 5,
    'vector_qps': 2000,
    'vector_index_bytes': 2 * 1024 ** 3,
    'cache_hit_pct': 80,
    'replication_lag_s': 1,
}
ENDPOINTS = ('read_only', 'read_write', 'primary', 'pooler')
PGVECTOR_MAX_INDEX_DIMENSIONS = 2000


def _int(settings, key, problems):
    value = settings.get(key)
    try:
        return int(value)
    except (TypeError, ValueError):
        problems.append('%s must be a whole number, not %r' % (key, value))
        return None


def benchmark_problems(settings):
    """Problems with a benchmark playbook's settings (list of str; empty when they are fine).

    :param settings: dict; the keys present are checked: clients, load_clients, seconds, load_seconds
        (1-3600), endpoints (list, each one of ENDPOINTS), available_endpoints (list: what the inventory has),
        dimensions (1-2000, pgvector's index limit), vectors, queries, k (1-1000), ef_search (list of k-1000).
    Run before any connection, so bad settings never send load.
    """
    if not isinstance(settings, dict):
        raise AnsibleFilterError('benchmark_problems expects a dict of settings, got %s' % type(settings).__name__)
    problems = []
    for key, low, high in (('clients', 1, 1000), ('load_clients', 1, 1000), ('vector_clients', 1, 256),
                           ('seconds', 1, 3600), ('load_seconds', 1, 3600), ('vectors', 1, 10000000),
                           ('queries', 1, 100000), ('k', 1, 1000), ('scale', 1, 10000),
                           ('dimensions', 1, PGVECTOR_MAX_INDEX_DIMENSIONS)):
        if key not in settings:
            continue
        value = _int(settings, key, problems)
        if value is not None and not low <= value <= high:
            hint = ' (pgvector indexes at most %d dimensions)' % high if key == 'dimensions' else ''
            problems.append('%s must be %d to %d%s, not %s' % (key, low, high, hint, value))
    if 'endpoints' in settings:
        endpoints = settings['endpoints'] or []
        if not endpoints:
            problems.append('endpoints is empty: name at least one of %s' % ', '.join(ENDPOINTS))
        unknown = [e for e in endpoints if e not in ENDPOINTS]
        if unknown:
            problems.append('unknown endpoint(s) %s: use %s' % (', '.join(map(str, unknown)), ', '.join(ENDPOINTS)))
        available = settings.get('available_endpoints')
        if available is not None:
            missing = [e for e in endpoints if e in ENDPOINTS and e not in available]
            if missing:
                problems.append('endpoint(s) %s are not in this inventory (it has %s)'
                                % (', '.join(missing), ', '.join(available) or 'none'))
    if 'ef_search' in settings:
        k = settings.get('k', 10)
        values = settings['ef_search'] if isinstance(settings['ef_search'], list) else [settings['ef_search']]
        bad = [v for v in values if not isinstance(v, int) or isinstance(v, bool) or not int(k) <= v <= 1000]
        if bad or not values:
            problems.append('ef_search must be a list of whole numbers from k (%s) to 1000, not %s'
                            % (k, settings['ef_search']))
    return problems


def _row(target, goal, measured, unit, ok, detail=''):
    if measured is None:
        result = 'n/a'
    else:
        result = 'PASS' if ok else 'FAIL'
    return dict(target=target, goal=goal, measured=measured, unit=unit, result=result, detail=detail)


def _targets(targets):
    merged = dict(DEFAULT_TARGETS)
    merged.update(targets or {})
    return merged


def sql_targets(results, targets=None):
    """The seeds' SQL targets judged on benchmark.yml's results: list of rows
    {target, goal, measured, unit, result PASS / FAIL / n/a, detail}.

    :param results: dict with ``runs`` (list of {name, endpoint, workload read|write, tps, latency_ms{p50,p95,p99}}),
        ``load`` ({clients, failed_transactions, aborted_clients, errors, tps}), ``samples`` (list of
        {cl_waiting, maxwait_s, lag_s, cache_hit_pct}) and ``shard_skew_pct`` (float or None without Citus).
    :param targets: overrides of DEFAULT_TARGETS.
    """
    t = _targets(targets)
    rows = []
    runs = results.get('runs') or []
    load = results.get('load')
    reads = [r for r in runs if r.get('workload') == 'read' and r.get('name') == 'read_only'] or \
        [r for r in runs if r.get('workload') == 'read']
    writes = [r for r in runs if r.get('workload') == 'write' and r.get('name') == 'read_write'] or \
        [r for r in runs if r.get('workload') == 'write']
    read = reads[0] if reads else None
    write = writes[0] if writes else None
    rows.append(_row('read throughput', '> %s ops/s' % t['read_ops_s'], read and read['tps'], 'ops/s',
                     read and read['tps'] > t['read_ops_s'], read and read['endpoint'] or ''))
    rows.append(_row('write throughput', '> %s ops/s' % t['write_ops_s'], write and write['tps'], 'ops/s',
                     write and write['tps'] > t['write_ops_s'], write and write['endpoint'] or ''))
    for run in runs + ([load] if load else []):
        lat = run.get('latency_ms') or {}
        for p in ('p50', 'p95', 'p99'):
            goal = t['latency_%s_ms' % p]
            rows.append(_row('latency %s, %s %s' % (p, run['workload'], run['endpoint']), '< %s ms' % goal,
                             lat.get(p), 'ms', lat.get(p) is not None and lat[p] < goal))
    samples = with_hit_ratios(results.get('samples'))
    if load:
        errors = ((load.get('failed_transactions') or 0) + (load.get('aborted_clients') or 0)
                  + len(load.get('errors') or []))
        waiting = max([s.get('cl_waiting') or 0 for s in samples] or [0])
        rows.append(_row('no pool exhaustion, %s clients' % load.get('clients'), '0 errors', errors, 'errors',
                         errors == 0, 'max %s clients waiting for a server connection' % waiting))
    hits = [s['cache_hit_pct'] for s in samples if s.get('cache_hit_pct') is not None]
    rows.append(_row('cache hit ratio (lowest sample)', '> %s %%' % t['cache_hit_pct'], min(hits) if hits else None, '%',
                     hits and min(hits) > t['cache_hit_pct']))
    lags = [s['lag_s'] for s in samples if s.get('lag_s') is not None]
    rows.append(_row('replication lag (highest sample)', '< %s s' % t['replication_lag_s'], max(lags) if lags else None,
                     's', lags and max(lags) < t['replication_lag_s']))
    skew = results.get('shard_skew_pct')
    rows.append(_row('shard skew', '< %s %%' % t['shard_skew_pct'], skew, '%',
                     skew is not None and skew < t['shard_skew_pct'], '' if skew is not None else 'no Citus'))
    return rows


def vector_targets(results, targets=None, ef_search=40):
    """The seeds' vector targets judged on benchmark_vector.yml's results (rows as in sql_targets).

    :param results: dict with ``runs`` (the vector_benchmark module's runs) and ``index`` ({size_bytes}).
    :param ef_search: the setting the latency and rate targets are judged at (pgvector's default, 40).
    """
    t = _targets(targets)
    runs = [r for r in results.get('runs') or [] if r.get('search') == 'hnsw' and r.get('ef_search') == ef_search]
    run = next((r for r in runs if r.get('scope') == 'table'), runs[0] if runs else None)
    p50 = run and run['latency_ms']['p50']
    detail = run and '%s scope, ef_search %s, %s clients, recall@%s %s' % (
        run['scope'], ef_search, run['clients'], run['k'], run['recall_at_k']) or 'not measured'
    size = (results.get('index') or {}).get('size_bytes')
    return [
        _row('vector search latency p50', '< %s ms' % t['vector_latency_ms'], p50, 'ms',
             p50 is not None and p50 < t['vector_latency_ms'], detail),
        _row('vector search rate', '> %s queries/s' % t['vector_qps'], run and run['qps'], 'queries/s',
             run is not None and run['qps'] > t['vector_qps'], detail),
        _row('HNSW index size', '< %s bytes' % t['vector_index_bytes'], size, 'bytes',
             size is not None and size < t['vector_index_bytes']),
    ]


def _fmt(value):
    if value is None:
        return '-'
    if isinstance(value, float):
        return '%.3f' % value if abs(value) < 10 else '%.1f' % value
    return str(value)


def benchmark_report(results, kind, targets=None):
    """What the benchmark_report module writes: dict(targets, tables, charts).

    :param results: the playbook's results (see sql_targets / vector_targets).
    :param kind: ``sql`` (benchmark.yml) or ``vector`` (benchmark_vector.yml).
    :returns: targets (rows), tables (list of {title, columns, rows of str}), charts (list of {file, kind
        ``bars`` | ``lines``, title, x_label, y_label, categories or none, series [{label, x, y}]}).
    """
    if kind not in ('sql', 'vector'):
        raise AnsibleFilterError("benchmark_report: kind must be 'sql' or 'vector', not %r" % kind)
    if kind == 'sql':
        rows = sql_targets(results, targets)
        runs = (results.get('runs') or []) + ([results['load']] if results.get('load') else [])
        table = dict(title='Runs', columns=['endpoint', 'workload', 'clients', 'seconds', 'ops/s', 'p50 ms', 'p95 ms',
                                            'p99 ms', 'failed', 'aborted clients'],
                     rows=[[r['endpoint'], r['workload'], _fmt(r.get('clients')), _fmt(r.get('duration_s')),
                            _fmt(r.get('tps')), _fmt(r['latency_ms'].get('p50')), _fmt(r['latency_ms'].get('p95')),
                            _fmt(r['latency_ms'].get('p99')), _fmt(r.get('failed_transactions')),
                            _fmt(r.get('aborted_clients'))] for r in runs])
        tables = [table]
        load = results.get('load')
        if load:
            tables.append(dict(
                title='Load test: %s clients for %s s through %s' % (
                    load.get('clients'), load.get('duration_s'), load.get('endpoint')),
                columns=['t s', 'clients active', 'clients waiting', 'longest wait s', 'server conns active',
                         'server conns idle', 'replication lag s', 'cache hit %'],
                rows=[[_fmt(s.get('t_s')), _fmt(s.get('cl_active')), _fmt(s.get('cl_waiting')), _fmt(s.get('maxwait_s')),
                       _fmt(s.get('sv_active')), _fmt(s.get('sv_idle')), _fmt(s.get('lag_s')),
                       _fmt(s.get('cache_hit_pct'))] for s in with_hit_ratios(results.get('samples'))]))
        charts = [dict(file='latency.png', kind='bars', title='Latency percentiles per endpoint', x_label='endpoint',
                       y_label='ms', categories=['%s %s' % (r['workload'], r['endpoint']) for r in runs],
                       series=[dict(label=p, y=[r['latency_ms'].get(p) or 0 for r in runs])
                               for p in ('p50', 'p95', 'p99')])]
        return dict(targets=rows, tables=tables, charts=charts)
    rows = vector_targets(results, targets, results.get('target_ef_search', 40))
    runs = results.get('runs') or []
    table = dict(title='Searches', columns=['scope', 'search', 'ef_search', 'clients', 'queries', 'queries/s',
                                            'recall@k', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'],
                 rows=[[r['scope'], r['search'], _fmt(r.get('ef_search')), _fmt(r['clients']), _fmt(r['queries']),
                        _fmt(r['qps']), _fmt(r['recall_at_k']), _fmt(r['latency_ms'].get('p50')),
                        _fmt(r['latency_ms'].get('p95')), _fmt(r['latency_ms'].get('p99')), _fmt(r['errors'])]
                       for r in runs])
    series = []
    for scope in sorted(set(r['scope'] for r in runs)):
        points = [r for r in runs if r['scope'] == scope and r['search'] == 'hnsw']
        series.append(dict(label='%s (HNSW)' % scope, x=[r['recall_at_k'] for r in points],
                           y=[r['latency_ms']['p50'] for r in points],
                           labels=['ef_search %s' % r['ef_search'] for r in points]))
        exact = [r for r in runs if r['scope'] == scope and r['search'] == 'exact']
        if exact:
            series.append(dict(label='%s (exact)' % scope, x=[exact[0]['recall_at_k']], y=[exact[0]['latency_ms']['p50']]))
    charts = [dict(file='recall_latency.png', kind='lines', title='Recall against latency per ef_search',
                   x_label='recall@k', y_label='p50 latency, ms', series=series)]
    return dict(targets=rows, tables=[table], charts=charts)


def benchmark_plan(endpoints):
    """The per-endpoint runs of benchmark.yml: list of [endpoint, workload] pairs, reads everywhere and
    writes everywhere except the read-only endpoint (which refuses them), in the order given."""
    plan = []
    for endpoint in endpoints or []:
        plan.append([endpoint, 'read'])
        if endpoint != 'read_only':
            plan.append([endpoint, 'write'])
    return plan


_RUN_KEYS = ('tps', 'transactions', 'failed_transactions', 'aborted_clients', 'latency_ms', 'latency_average_ms',
             'average_connection_ms',
             'initial_connection_ms', 'errors', 'progress')


def benchmark_run(result, endpoints, endpoint=None, workload=None, clients=None, duration=None):
    """One run's record from a dpg.cluster.pgbench result (a loop item of [endpoint, workload], or
    ``endpoint``, ``workload``, ``clients`` and ``duration`` (s) given, as for an async job's result):
    dict name, endpoint (label), workload, clients, duration_s and the module's figures."""
    if endpoint is None:
        endpoint, workload = result['item'][0], result['item'][1]
    run = dict(name=endpoint, endpoint=endpoints.get(endpoint, {}).get('label', endpoint), workload=workload,
               clients=None, duration_s=None)
    for key in _RUN_KEYS:
        run[key] = result.get(key)
    invocation = (result.get('invocation') or {}).get('module_args') or {}
    run['clients'] = clients if clients is not None else invocation.get('clients')
    run['duration_s'] = duration if duration is not None else invocation.get('duration')
    if run['latency_ms'] is None:
        run['latency_ms'] = {}
    return run


def benchmark_sample(pools, stats, database, t_s):
    """One load-test sample: PgBouncer's SHOW POOLS rows (summed over the pools of ``database``) with the
    leader's replication lag and block counters (a row with lag_s, replicas, blks_hit, blks_read).

    :returns: dict t_s, cl_active, cl_waiting, sv_active, sv_idle, maxwait_s, lag_s, replicas, blks_hit, blks_read.
    """
    rows = [r for r in pools or [] if r.get('database') == database]
    sample = dict(t_s=t_s, cl_active=sum(int(r.get('cl_active') or 0) for r in rows),
                  cl_waiting=sum(int(r.get('cl_waiting') or 0) for r in rows),
                  sv_active=sum(int(r.get('sv_active') or 0) for r in rows),
                  sv_idle=sum(int(r.get('sv_idle') or 0) for r in rows),
                  maxwait_s=round(max([int(r.get('maxwait') or 0) + int(r.get('maxwait_us') or 0) / 1e6 for r in rows] or [0]), 3))
    sample.update(lag_s=round(float(stats.get('lag_s') or 0), 3), replicas=int(stats.get('replicas') or 0),
                  blks_hit=int(stats.get('blks_hit') or 0), blks_read=int(stats.get('blks_read') or 0))
    return sample


def with_hit_ratios(samples):
    """The samples with cache_hit_pct over each interval (block hits / all block reads since the previous
    sample, in percent; None when no block was read in it)."""
    out, previous = [], None
    for s in samples or []:
        s = dict(s)
        if previous is not None and 'blks_hit' in s:
            hit, read = s['blks_hit'] - previous['blks_hit'], s['blks_read'] - previous['blks_read']
            s['cache_hit_pct'] = round(100.0 * hit / (hit + read), 2) if hit + read > 0 else None
        elif 'cache_hit_pct' not in s:
            s['cache_hit_pct'] = None
        out.append(s)
        previous = s
    return out


def benchmark_cells(row, keys):
    """The values of ``keys`` in ``row`` (a dict), as a list for a report table."""
    return [row.get(k) for k in keys]


class FilterModule(object):
    """Benchmark filters."""

    def filters(self):
        return {
            'benchmark_cells': benchmark_cells,
            'benchmark_plan': benchmark_plan,
            'benchmark_problems': benchmark_problems,
            'benchmark_report': benchmark_report,
            'benchmark_run': benchmark_run,
            'benchmark_sample': benchmark_sample,
        }
