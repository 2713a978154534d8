#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: vector_benchmark
short_description: Load deterministic vectors and measure pgvector nearest-neighbour search (recall, latency, rate)
version_added: 0.7.0
description:
  - O(operation=load) creates the seeds' vector schema (a C(users) table and C(user_embeddings) with a
    C(vector) column) and fills it with O(vectors) vectors of O(dimensions) dimensions, generated on the
    server from a hash of (O(seed), row, dimension), so the same settings give the same data on every
    cluster and every run. The vectors lie around O(clusters) centres, as embeddings of related texts do.
    With O(distributed=true) (Citus) both tables are distributed by C(user_id), colocated, so a query of one
    user reaches one shard. A table that already holds the same data set is kept (the task reports no change).
  - O(operation=measure) draws O(queries) query vectors near stored ones, finds their exact O(k) nearest
    neighbours (a sequential scan), then for exact search and every O(ef_search) value runs the queries
    from O(clients) concurrent connections for O(duration) seconds and returns recall@k against the exact
    answers, latency p50 / p95 / p99 and queries per second. Each query sets C(hnsw.ef_search) with
    C(SET LOCAL) in its own transaction, so it works through PgBouncer's transaction pooling; in the same
    message as the search (one round trip), or on Citus, where the setting must be propagated to the workers,
    as BEGIN, C(SET LOCAL citus.propagate_set_commands = local), C(SET LOCAL hnsw.ef_search), the search and
    COMMIT in separate messages (Citus 13 mishandles propagated settings in a multi-statement message). The
    latency is that of the whole transaction.
  - Distance is cosine (C(<=>)), the operator class of the seeds' index.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
attributes:
  check_mode:
    support: full
    details: O(operation=load) reports whether it would (re)load and loads nothing; O(operation=measure) runs nothing.
  diff_mode:
    support: none
options:
  operation:
    description:
      - V(load) the data set, or V(measure) searches on it.
    type: str
    choices: [load, measure]
    required: true
  schema:
    description:
      - Schema of the two tables (created when missing).
    type: str
    default: dpg_bench
  dimensions:
    description:
      - Dimensions of each vector, 1 to 2000 (pgvector's limit for an indexed C(vector) column).
    type: int
    default: 384
  vectors:
    description:
      - Number of vectors (O(operation=load)), 1 to 10,000,000.
    type: int
    default: 100000
  users:
    description:
      - Number of distinct C(user_id) values the vectors are spread over (O(operation=load)).
    type: int
    default: 1000
  clusters:
    description:
      - Number of centres the vectors lie around (O(operation=load)).
    type: int
    default: 100
  seed:
    description:
      - Seed of the data set and of the query vectors.
    type: int
    default: 42
  distributed:
    description:
      - Distribute both tables by C(user_id), colocated (Citus; O(operation=load)).
    type: bool
    default: false
  queries:
    description:
      - Number of distinct query vectors (O(operation=measure)).
    type: int
    default: 100
  k:
    description:
      - Neighbours per query (C(LIMIT)), and the k of recall@k.
    type: int
    default: 10
  ef_search:
    description:
      - C(hnsw.ef_search) values to measure, each 1 to 1000 and at least O(k). Exact search is always measured
        first; its recall is 1.0 by definition of the reference.
    type: list
    elements: int
    default: [40, 100, 200]
  scope:
    description:
      - V(table) searches the whole table; V(user) adds C(WHERE user_id = <the query's user>), which on Citus
        hits one shard.
    type: list
    elements: str
    choices: [table, user]
    default: [table]
  clients:
    description:
      - Concurrent connections of O(operation=measure), 1 to 256.
    type: int
    default: 4
  duration:
    description:
      - Seconds each measured setting runs, 1 to 600.
    type: int
    default: 10
'''

EXAMPLES = r'''
- name: Load 100,000 x 384 vectors, distributed by user_id (Citus)
  dpg.cluster.vector_benchmark:
    operation: load
    login_host: lb1.example.net
    login_port: 5000
    login_user: app_user
    login_password: "{{ app_password }}"
    login_db: app
    ssl_mode: verify-full
    ca_cert: /etc/patroni/tls/ca.crt
    distributed: true

- name: Recall and latency for ef_search 40, 100 and 200 with 4 clients
  dpg.cluster.vector_benchmark:
    operation: measure
    login_host: lb1.example.net
    login_port: 5001
    login_user: app_user
    login_password: "{{ app_password }}"
    login_db: app
    ssl_mode: verify-full
    ca_cert: /etc/patroni/tls/ca.crt
    scope: [table, user]
  register: vector
'''

RETURN = r'''
rows:
  description: Vectors in the table after the task.
  returned: always
  type: int
load_seconds:
  description: Time the load took, in seconds (0 when the data set was kept).
  returned: when operation is load
  type: float
table_bytes:
  description: Size of the embeddings table without indexes, in bytes (every shard with Citus).
  returned: when operation is load
  type: int
runs:
  description: >-
    One entry per scope and search setting: scope, search (V(exact) or V(hnsw)), ef_search (null for exact),
    clients, queries (executed), qps, recall_at_k (mean over the distinct queries), k, errors, error_samples,
    access (the scan the planner chose, e.g. C(Index Scan using ..._hnsw_idx) or C(Seq Scan)), latency_ms
    (count, mean, p50, p95, p99, max).
  returned: when operation is measure
  type: list
  elements: dict
  sample: [{scope: table, search: hnsw, ef_search: 40, clients: 4, queries: 5210, qps: 521.0, recall_at_k: 0.93,
            k: 10, errors: 0, latency_ms: {count: 5210, mean: 7.6, p50: 7.1, p95: 12.3, p99: 17.9, max: 40.2}}]
plan:
  description: The query plan of one query per scope and search setting (C(EXPLAIN), first lines).
  returned: when operation is measure
  type: dict
'''

import json
import random
import re
import threading
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _bench
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import (
    POSTGRES_ARGSPEC, DatabaseError, ModuleFailure, connection_kwargs, psycopg2, rollback_quietly, run_module, sql)

TABLE = 'user_embeddings'
USERS = 'users'
# A value in (-1, 1) from a 64-bit hash of (seed, n): hashint8extended is PostgreSQL's seeded hash (>= 11).
_UNIT = "((hashint8extended(({n})::bigint, {seed}) % 1000000)::float8 / 1000000)"
SPREAD = 0.35  # noise around a centre, per dimension


def check_params(params):
    """Problems with the settings (list of str), found before any connection is made."""
    p = params
    problems = []
    if not 1 <= p['dimensions'] <= _bench.PGVECTOR_MAX_INDEX_DIMENSIONS:
        problems.append('dimensions must be 1 to %d (pgvector indexes no wider vector), not %s'
                        % (_bench.PGVECTOR_MAX_INDEX_DIMENSIONS, p['dimensions']))
    if not 1 <= p['vectors'] <= 10000000:
        problems.append('vectors must be 1 to 10,000,000, not %s' % p['vectors'])
    if not 1 <= p['users'] <= p['vectors']:
        problems.append('users must be 1 to vectors (%s), not %s' % (p['vectors'], p['users']))
    if not 1 <= p['clusters'] <= p['vectors']:
        problems.append('clusters must be 1 to vectors (%s), not %s' % (p['vectors'], p['clusters']))
    if not 1 <= p['k'] <= 1000:
        problems.append('k must be 1 to 1000, not %s' % p['k'])
    if not 1 <= p['queries'] <= 100000:
        problems.append('queries must be 1 to 100,000, not %s' % p['queries'])
    bad = [e for e in p['ef_search'] if not max(1, p['k']) <= e <= 1000]
    if bad:
        problems.append('each ef_search must be k (%s) to 1000 (fewer candidates than k return fewer rows), not %s'
                        % (p['k'], bad))
    if not 1 <= p['clients'] <= 256:
        problems.append('clients must be 1 to 256, not %s' % p['clients'])
    if not 1 <= p['duration'] <= 600:
        problems.append('duration must be 1 to 600 s, not %s' % p['duration'])
    if not p['scope']:
        problems.append('scope needs table, user or both')
    return problems


def dataset(params):
    """The data set's identity (dict), stored as the table's comment to recognise it on a re-run."""
    return dict((k, params[k]) for k in ('dimensions', 'vectors', 'users', 'clusters', 'seed', 'distributed'))


def generate_sql(schema, params):
    """INSERT ... SELECT that generates the vectors on the server (deterministic, plan-independent)."""
    d, c, seed = params['dimensions'], params['clusters'], params['seed']
    centre = _UNIT.format(n='(i %% %d) * %d + d' % (c, d), seed=seed)
    noise = _UNIT.format(n='i::bigint * %d + d' % d, seed=seed + 1)
    return sql.SQL(
        "INSERT INTO {t} (embedding_id, user_id, embedding) "
        "SELECT i, 1 + i % {u}, (SELECT array_agg(({centre} + {spread} * {noise})::real ORDER BY d) "
        "FROM generate_series(1, {d}) d)::vector FROM generate_series(1, {n}) i").format(
            t=sql.Identifier(schema, TABLE), u=sql.Literal(params['users']), centre=sql.SQL(centre),
            spread=sql.Literal(SPREAD), noise=sql.SQL(noise), d=sql.Literal(d), n=sql.Literal(params['vectors']))


def load(module, session):
    """operation=load: keep the data set when it is the same, else (re)create and fill both tables."""
    p = module.params
    schema = p['schema']
    wanted = dataset(p)
    rows = session.execute("SELECT obj_description(to_regclass(%s), 'pg_class')",
                           (sql.Identifier(schema, TABLE).as_string(session.conn),))
    comment = rows[0][0] if rows else None
    try:
        current = json.loads(comment) if comment else None
    except ValueError:
        current = None
    ident = sql.Identifier(schema, TABLE)
    if current == wanted:
        count = session.execute(sql.SQL('SELECT count(*) FROM {}').format(ident))[0][0]
        if count == p['vectors']:
            return dict(changed=False, rows=count, load_seconds=0.0, table_bytes=table_bytes(session, schema, p))
    installed = [r[0] for r in session.execute("SELECT extname FROM pg_extension WHERE extname IN ('vector', 'citus')")]
    missing = [e for e in ['vector'] + (['citus'] if p['distributed'] else []) if e not in installed]
    if missing:
        raise ModuleFailure('extension %s is not created in database %s: add it to patroni_databases[].extensions '
                            '(or CREATE EXTENSION as the owner); nothing was changed' % (', '.join(missing), p['login_db']))
    if module.check_mode:
        return dict(changed=True, rows=0, load_seconds=0.0, table_bytes=0)
    users = sql.Identifier(schema, USERS)
    started = time.time()
    # one transaction: a failure (a privilege, a full disk, a lost connection) leaves the data set as it was
    steps = [(sql.SQL('BEGIN'), None)]
    if p['distributed']:
        # distributing and then filling the tables in one transaction needs one connection per worker
        steps.append((sql.SQL("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"), None))
    steps += [
        (sql.SQL('CREATE SCHEMA IF NOT EXISTS {}').format(sql.Identifier(schema)), None),
        (sql.SQL('DROP TABLE IF EXISTS {}, {}').format(ident, users), None),
        (sql.SQL('CREATE TABLE {} (user_id bigint PRIMARY KEY, name text)').format(users), None),
        (sql.SQL('CREATE TABLE {} (embedding_id bigint NOT NULL, user_id bigint NOT NULL, content text, '
                 'embedding vector({}) NOT NULL, PRIMARY KEY (embedding_id, user_id))').format(
                     ident, sql.Literal(p['dimensions'])), None),
    ]
    if p['distributed']:
        steps += [(sql.SQL("SELECT create_distributed_table(%s, 'user_id')"), (users.as_string(session.conn),)),
                  (sql.SQL("SELECT create_distributed_table(%s, 'user_id', colocate_with => %s)"),
                   (ident.as_string(session.conn), users.as_string(session.conn)))]
    steps += [
        (sql.SQL("INSERT INTO {} SELECT u, 'user ' || u FROM generate_series(1, {}) u").format(
            users, sql.Literal(p['users'])), None),
        (generate_sql(schema, p), None),
        (sql.SQL('CREATE INDEX ON {} (user_id)').format(ident), None),
        (sql.SQL('COMMENT ON TABLE {} IS {}').format(ident, sql.Literal(json.dumps(wanted, sort_keys=True))), None),
        (sql.SQL('COMMIT'), None),
        (sql.SQL('ANALYZE {}').format(ident), None),
        (sql.SQL('ANALYZE {}').format(users), None),
    ]
    try:
        for query, args in steps:
            session.execute(query, args)
    except DatabaseError:
        rollback_quietly(session)
        raise
    count = session.execute(sql.SQL('SELECT count(*) FROM {}').format(ident))[0][0]
    return dict(changed=True, rows=count, load_seconds=round(time.time() - started, 3),
                table_bytes=table_bytes(session, schema, p))


def table_bytes(session, schema, params):
    """Bytes of the embeddings table without indexes (all shards with Citus)."""
    ident = sql.Identifier(schema, TABLE).as_string(session.conn)
    function = 'citus_table_size' if params['distributed'] else 'pg_table_size'
    return int(session.execute(sql.SQL('SELECT {}(%s::regclass)').format(sql.Identifier(function)), (ident,))[0][0])


def vector_literal(values):
    """pgvector's text form of a vector: ``[v1,v2,...]``."""
    return '[' + ','.join('%.6f' % v for v in values) + ']'


def search_sql(session, schema, scope, exact, k):
    """The search statement (str) with %s for the vector (and the user); exact search hides the index."""
    order = '(embedding <=> %s::vector) + 0' if exact else 'embedding <=> %s::vector'
    where = 'WHERE user_id = %s ' if scope == 'user' else ''
    return 'SELECT embedding_id FROM %s %sORDER BY %s LIMIT %d' % (
        sql.Identifier(schema, TABLE).as_string(session.conn), where, order, k)


def draw_queries(session, params):
    """[(user_id, vector literal)] near stored vectors, the same for the same seed."""
    rng = random.Random(params['seed'])
    count = session.execute(sql.SQL('SELECT count(*) FROM {}').format(sql.Identifier(params['schema'], TABLE)))[0][0]
    if count == 0:
        raise ModuleFailure('%s.%s is empty: run operation=load first' % (params['schema'], TABLE))
    ids = [rng.randint(1, count) for _draw in range(params['queries'])]
    rows = session.execute(sql.SQL('SELECT embedding_id, user_id, embedding::text FROM {} WHERE embedding_id = ANY(%s)')
                           .format(sql.Identifier(params['schema'], TABLE)), (ids,))
    by_id = dict((r[0], (r[1], [float(x) for x in r[2].strip('[]').split(',')])) for r in rows)
    queries = []
    for i in ids:
        if i not in by_id:
            continue
        user, vec = by_id[i]
        queries.append((user, vector_literal(v + rng.uniform(-SPREAD, SPREAD) / 4 for v in vec)))
    if not queries:
        raise ModuleFailure('no stored vector matched the drawn ids: the table is not one operation=load wrote')
    return queries


def _args(scope, query):
    user, vec = query
    return (user, vec) if scope == 'user' else (vec,)


MAX_ERRORS_IN_A_ROW = 20  # a client that fails this many queries in a row stops (a broken endpoint)


def setting_statements(ef_search, distributed):
    """How a query runs with ``hnsw.ef_search`` set for it alone: (statements before the search, after it).

    Without Citus: ``SET LOCAL hnsw.ef_search = N;`` sent in the same message as the search (one round trip:
    a multi-statement message is one transaction). With Citus the setting must reach the workers
    (``citus.propagate_set_commands = local``), and Citus 13 mishandles that inside a multi-statement message
    (seen in the sharded lab: "there is already a transaction in progress" from the workers, then
    "cannot execute a distributed query from a query on a shard"), so each statement is its own message:
    BEGIN, the two SET LOCALs, the search, COMMIT (five round trips). Exact search sets nothing.
    """
    if not ef_search:
        return [], []
    if distributed:
        return (['BEGIN', "SET LOCAL citus.propagate_set_commands = 'local'",
                 'SET LOCAL hnsw.ef_search = %d' % ef_search], ['COMMIT'])
    return ['SET LOCAL hnsw.ef_search = %d; ' % ef_search], []


def _search(cur, before, statement, args, after):
    """Run one search as setting_statements says; its rows."""
    if before and not after:
        cur.execute(before[0] + statement, args)
        return cur.fetchall()
    for text in before:
        cur.execute(text)
    cur.execute(statement, args)
    rows = cur.fetchall()
    for text in after:
        cur.execute(text)
    return rows


def run_setting(params, statement, around, queries, scope):
    """Run ``statement`` from params['clients'] connections for params['duration'] s.

    Every client connects first; the clock starts when all are connected (a barrier), so TLS handshakes
    are not counted in the rate. A client stops after MAX_ERRORS_IN_A_ROW failed queries in a row.

    :returns: (latencies_ms list, {query index: ids of its first answer}, executed count,
        (error count, up to 3 distinct error messages), seconds the clients ran).
    """
    lock = threading.Lock()
    latencies, answers, samples = [], {}, []
    counts = dict(executed=0, errors=0)
    window = {}

    def start_clock():
        # run by the barrier before it releases any client: every client sees the window
        window['start'] = time.perf_counter()
        window['end'] = window['start'] + params['duration']

    barrier = threading.Barrier(params['clients'] + 1, action=start_clock)

    def note_error(text):
        with lock:
            counts['errors'] += 1
            if text not in samples and len(samples) < 3:
                samples.append(text)

    def client(offset):
        conn = None
        try:
            conn = psycopg2.connect(**connection_kwargs(params))
            conn.autocommit = True
        except DatabaseError as e:
            note_error('connect: %s' % str(e).strip())
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        if conn is None:
            return
        cur = conn.cursor()
        n, in_a_row = offset, 0
        try:
            while time.perf_counter() < window['end'] and in_a_row < MAX_ERRORS_IN_A_ROW and not conn.closed:
                index = n % len(queries)
                n += params['clients']
                started = time.perf_counter()
                try:
                    ids = [r[0] for r in _search(cur, around[0], statement, _args(scope, queries[index]), around[1])]
                except DatabaseError as e:
                    in_a_row += 1
                    if not conn.closed and conn.get_transaction_status() != 0:
                        try:
                            cur.execute('ROLLBACK')
                        except DatabaseError:
                            pass
                    note_error(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
                    continue
                elapsed = (time.perf_counter() - started) * 1000.0
                in_a_row = 0
                with lock:
                    latencies.append(elapsed)
                    answers.setdefault(index, ids)
                    counts['executed'] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(params['clients'])]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    return latencies, answers, counts['executed'], (counts['errors'], samples), time.perf_counter() - window['start']


def read_on_replica(session, query, args=None, attempts=3):
    """``session.execute`` (not recorded) retried when a replica cancels it for a conflict with recovery
    (SQLSTATE 40001: the replica replays a cleanup the query's snapshot still needed, as after a bulk load)."""
    for attempt in range(attempts):
        try:
            return session.execute(query, args, record=False)
        except DatabaseError as e:
            if getattr(e, 'pgcode', None) != '40001' or attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)
    return []


def plan_access(lines):
    """The scan that reads the table in an EXPLAIN (list of lines): the innermost scan that is not Citus'
    own ``Custom Scan`` (on Citus the shard's plan is indented under the task), or ``unknown``."""
    scans = [line.strip().lstrip('-> ').strip() for line in lines if 'Scan' in line and 'Custom Scan' not in line]
    return scans[-1] if scans else 'unknown'


def measure(module, session):
    """operation=measure: exact answers, then each setting from several clients; the runs (dict)."""
    p = module.params
    if module.check_mode:
        return dict(changed=False, runs=[], plan={}, rows=0, msg='check mode: no query was sent')
    queries = draw_queries(session, p)
    distributed = bool(session.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AND to_regclass('pg_dist_partition') "
        "IS NOT NULL")[0][0]) and p['distributed']
    runs, plan = [], {}
    for scope in p['scope']:
        exact_sql = search_sql(session, p['schema'], scope, True, p['k'])
        truth = {}
        for index, query in enumerate(queries):
            truth[index] = [r[0] for r in read_on_replica(session, exact_sql, _args(scope, query))]
        settings = [('exact', None)] + [('hnsw', e) for e in p['ef_search']]
        for search, ef in settings:
            statement = search_sql(session, p['schema'], scope, search == 'exact', p['k'])
            around = setting_statements(ef, distributed)
            # the plan's shape does not depend on ef_search: EXPLAIN runs with the database's value
            explain = read_on_replica(session, 'EXPLAIN (COSTS OFF) ' + statement, _args(scope, queries[0]))
            lines = [re.sub(r"'\[[^\]]*\]'", "'[...]'", r[0]) for r in explain[:30]]
            plan['%s %s' % (scope, search if ef is None else 'ef_search=%d' % ef)] = lines
            access = plan_access(lines)
            latencies, answers, executed, (errors, samples), seconds = run_setting(p, statement, around, queries, scope)
            if executed == 0:
                raise ModuleFailure('no %s %s query succeeded in %s s: %s' % (
                    scope, search, p['duration'], '; '.join(samples)))
            recalls = [_bench.recall_at_k(ids, truth[i], p['k']) for i, ids in answers.items()]
            runs.append(dict(scope=scope, search=search, ef_search=ef, clients=p['clients'], queries=executed,
                             qps=round(executed / seconds, 1), recall_at_k=round(sum(recalls) / len(recalls), 4),
                             k=p['k'], errors=errors, error_samples=samples, access=access,
                             latency_ms=_bench.latency_summary(latencies)))
    rows = session.execute(sql.SQL('SELECT count(*) FROM {}').format(sql.Identifier(p['schema'], TABLE)))[0][0]
    return dict(changed=False, runs=runs, plan=plan, rows=rows)


def main():
    argument_spec = dict(
        operation=dict(type='str', required=True, choices=['load', 'measure']),
        schema=dict(type='str', default='dpg_bench'),
        dimensions=dict(type='int', default=384),
        vectors=dict(type='int', default=100000),
        users=dict(type='int', default=1000),
        clusters=dict(type='int', default=100),
        seed=dict(type='int', default=42),
        distributed=dict(type='bool', default=False),
        queries=dict(type='int', default=100),
        k=dict(type='int', default=10),
        ef_search=dict(type='list', elements='int', default=[40, 100, 200]),
        scope=dict(type='list', elements='str', choices=['table', 'user'], default=['table']),
        clients=dict(type='int', default=4),
        duration=dict(type='int', default=10),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    problems = check_params(module.params)
    if problems:
        module.fail_json(msg='vector_benchmark: no load was sent: ' + '; '.join(problems), queries=[])
    body = load if module.params['operation'] == 'load' else measure
    run_module(module, lambda session: body(module, session))


if __name__ == '__main__':
    main()
