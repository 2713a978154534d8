#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pgvector_index
short_description: Manage a pgvector HNSW or IVFFlat index and the database's hnsw.ef_search
version_added: 0.7.0
description:
  - Creates a pgvector index on one C(vector) column with the given method, operator class and build
    parameters, re-builds it when the existing index differs (method, column, operator class, C(m),
    C(ef_construction), C(lists)), or drops it.
  - The build runs in one transaction with C(maintenance_work_mem) and C(max_parallel_maintenance_workers)
    set for it only (C(SET LOCAL)); that transaction locks the table (a re-build against reads too) until it
    ends, unless O(concurrently=true). On a Citus distributed table the index is built on every shard, one
    shard at a time per worker (C(citus.multi_shard_modify_mode = sequential)), and the two settings reach the
    workers through C(citus.propagate_set_commands = local).
  - An index left invalid by a failed concurrent build is built again.
  - With O(ef_search) it also sets C(hnsw.ef_search) for the database (C(ALTER DATABASE ... SET)) or for one
    role in it (C(ALTER ROLE ... IN DATABASE ... SET)); a setting of a session would not reach Citus workers,
    these do (Citus propagates both statements). New sessions get the value.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details: Reads the index and the setting and reports the statements that would run; runs none.
  diff_mode:
    support: full
    details: The index definition and hnsw.ef_search before and after.
options:
  table:
    description:
      - Table of the index, C(schema.table) or C(table) (then in C(public)); names are quoted as identifiers.
      - Without it (and O(column)) the task manages O(ef_search) only.
    type: str
  column:
    description:
      - The C(vector) column to index; required with O(table).
    type: str
  name:
    description:
      - Index name (in the table's schema). Default C(<table>_<column>_vector_idx), cut to 63 bytes.
    type: str
  state:
    description:
      - V(present) builds or re-builds the index; V(absent) drops it. O(ef_search) is applied in both.
    type: str
    choices: [present, absent]
    default: present
  method:
    description:
      - Index access method. V(hnsw) (better recall and speed, slower build) or V(ivfflat).
    type: str
    choices: [hnsw, ivfflat]
    default: hnsw
  opclass:
    description:
      - Operator class, which decides the distance the index serves. V(vector_cosine_ops) for C(<=>),
        V(vector_l2_ops) for C(<->), V(vector_ip_ops) for C(<#>), V(vector_l1_ops) for C(<+>).
    type: str
    choices: [vector_cosine_ops, vector_l2_ops, vector_ip_ops, vector_l1_ops]
    default: vector_cosine_ops
  m:
    description:
      - HNSW only; maximum connections per node per layer, 2 to 100.
    type: int
    default: 16
  ef_construction:
    description:
      - HNSW only; size of the candidate list while building, 4 to 1000 and at least 2 * O(m).
    type: int
    default: 64
  lists:
    description:
      - IVFFlat only; number of lists, 1 to 32768 (pgvector suggests rows / 1000 up to 1M rows).
    type: int
    default: 100
  maintenance_work_mem:
    description:
      - C(maintenance_work_mem) for the build only, with a unit (V(512MB), V(2GB)). HNSW builds are much faster
        when the graph fits in it. Without it, the server's value.
    type: str
  concurrently:
    description:
      - Build with C(CREATE INDEX CONCURRENTLY), so reads and writes of the table go on during the build (a
        re-build creates the new index under a temporary name, then drops the old one concurrently and renames).
      - Without it the build runs in one transaction that locks the table against writes, and a re-build against
        reads too, until it ends. Concurrent builds take longer, and their O(maintenance_work_mem) and
        O(parallel_workers) are the session's, which Citus does not send to the workers.
    type: bool
    default: false
  parallel_workers:
    description:
      - C(max_parallel_maintenance_workers) for the build only (0 to 64). Without it, the server's value.
    type: int
  ef_search:
    description:
      - C(hnsw.ef_search) (1 to 1000; pgvector's default is 40) to set for the database, or for
        O(ef_search_role) in it. Higher finds more true neighbours at more cost per query.
    type: int
  ef_search_role:
    description:
      - Role to set O(ef_search) for, in the connected database only. Without it, the whole database.
    type: str
'''

EXAMPLES = r'''
- name: HNSW index on the embeddings, built with 1 GB of maintenance memory
  dpg.cluster.pgvector_index:
    login_db: app
    table: public.user_embeddings
    column: embedding
    m: 16
    ef_construction: 100
    maintenance_work_mem: 1GB
    ef_search: 100

- name: The read-only role searches more widely (the setting only)
  dpg.cluster.pgvector_index:
    login_db: app
    ef_search: 200
    ef_search_role: app_readonly
'''

RETURN = r'''
name:
  description: The index name (null without O(table)).
  returned: always
  type: str
  sample: user_embeddings_embedding_hnsw_idx
definition:
  description: C(pg_get_indexdef) of the index after the task (null when absent; the planned one in check mode).
  returned: always
  type: str
built:
  description: Whether the task built the index (false in check mode).
  returned: always
  type: bool
build_seconds:
  description: Wall time of the build, in seconds (0 when nothing was built).
  returned: always
  type: float
size_bytes:
  description: >-
    Size of the index in bytes; on a Citus distributed table, of all the table's indexes on every shard
    (C(citus_total_relation_size) - C(citus_table_size)). Null when absent.
  returned: always
  type: int
distributed:
  description: Whether the table is a Citus distributed or reference table.
  returned: always
  type: bool
ef_search:
  description: The database's (or the role's) hnsw.ef_search after the task; null without O(ef_search).
  returned: always
  type: int
diff:
  description: Index definition and ef_search before and after.
  returned: when diff mode is on
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import (
    POSTGRES_ARGSPEC, ModuleFailure, rollback_quietly, run_module, run_statements, sql)

SQL_INDEX = (
    "SELECT i.relname, am.amname, opc.opcname, a.attname, coalesce(i.reloptions, '{}'), x.indrelid::regclass::text, "
    "pg_get_indexdef(i.oid), x.indisvalid "
    "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace "
    "JOIN pg_am am ON am.oid = i.relam JOIN pg_opclass opc ON opc.oid = x.indclass[0] "
    "LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
    "WHERE n.nspname = %s AND i.relname = %s")
SQL_COLUMN_TYPE = (
    "SELECT format_type(a.atttypid, a.atttypmod), t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
    "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped")
SQL_DISTRIBUTED = (
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AND "
    "EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'pg_catalog' AND c.relname = 'pg_dist_partition')")
SQL_SETTING = (
    "SELECT s.setconfig FROM pg_db_role_setting s "
    "WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND s.setrole = coalesce((SELECT oid FROM pg_roles WHERE rolname = %s), 0)")


def split_table(table):
    """(schema, table) from ``schema.table`` or ``table`` (schema ``public``); names are taken as written."""
    if '.' in table:
        schema, name = table.split('.', 1)
        return schema, name
    return 'public', table


def default_name(table, column):
    """``<table>_<column>_vector_idx`` cut to PostgreSQL's 63-byte identifier limit; the same for every
    method, so a change of method re-builds the index instead of adding a second one."""
    return ('%s_%s_vector_idx' % (split_table(table)[1], column)).encode('utf-8')[:63].decode('utf-8', 'ignore')


def wanted_options(params):
    """The index's storage options as pgvector stores them in reloptions (dict of str to str)."""
    if params['method'] == 'hnsw':
        return {'m': str(params['m']), 'ef_construction': str(params['ef_construction'])}
    return {'lists': str(params['lists'])}


def check_params(params):
    """Problems with the params (list of str), found before anything is read or written."""
    p = params
    problems = []
    if p['method'] == 'hnsw':
        if not 2 <= p['m'] <= 100:
            problems.append('m must be 2 to 100, not %s' % p['m'])
        if not 4 <= p['ef_construction'] <= 1000 or p['ef_construction'] < 2 * p['m']:
            problems.append('ef_construction must be 4 to 1000 and at least 2 * m (%s), not %s'
                            % (2 * p['m'], p['ef_construction']))
    elif not 1 <= p['lists'] <= 32768:
        problems.append('lists must be 1 to 32768, not %s' % p['lists'])
    if p['ef_search'] is not None and not 1 <= p['ef_search'] <= 1000:
        problems.append('ef_search must be 1 to 1000, not %s' % p['ef_search'])
    if p['ef_search_role'] and p['ef_search'] is None:
        problems.append('ef_search_role needs ef_search')
    if p['parallel_workers'] is not None and not 0 <= p['parallel_workers'] <= 64:
        problems.append('parallel_workers must be 0 to 64, not %s' % p['parallel_workers'])
    return problems


def read_ef_search(session, role):
    """hnsw.ef_search stored for the database (role None) or the role in it: int or None."""
    for (config,) in session.execute(SQL_SETTING, (role,)):
        for item in config or []:
            key, _sep, value = item.partition('=')
            if key == 'hnsw.ef_search':
                return int(value)
    return None


def read_index(session, schema, name):
    """The index as it is: dict(table, method, opclass, column, options, definition, valid) or None."""
    rows = session.execute(SQL_INDEX, (schema, name))
    if not rows:
        return None
    method, opclass, column, reloptions, table, definition, valid = rows[0][1:]
    options = dict(o.split('=', 1) for o in reloptions)
    return dict(table=table, method=method, opclass=opclass, column=column, options=options, definition=definition,
                valid=valid)


def index_size(session, schema, name, table_ident, distributed):
    """Bytes of the index (all indexes of a distributed table on Citus), or None when it is absent."""
    if distributed:
        return int(session.execute("SELECT citus_total_relation_size(%s::regclass) - citus_table_size(%s::regclass)",
                                   (table_ident, table_ident))[0][0])
    rows = session.execute("SELECT pg_relation_size(to_regclass(%s))", (sql.Identifier(schema, name).as_string(
        session.conn),))
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def temporary_name(name):
    """The name a concurrent re-build gives the new index until the old one is dropped (<= 63 bytes)."""
    return name.encode('utf-8')[:54].decode('utf-8', 'ignore') + '_dpg_new'


def _create(params, schema, table, name, concurrently):
    options = sql.SQL(', ').join(sql.SQL('{} = {}').format(sql.Identifier(k), sql.Literal(int(v)))
                                 for k, v in sorted(wanted_options(params).items()))
    return (sql.SQL('CREATE INDEX {}{} ON {} USING {} ({} {}) WITH ({})').format(
        sql.SQL('CONCURRENTLY ') if concurrently else sql.SQL(''), sql.Identifier(name),
        sql.Identifier(schema, table), sql.Identifier(params['method']), sql.Identifier(params['column']),
        sql.Identifier(params['opclass']), options), None)


def build_steps(params, schema, table, name, existing, distributed):
    """The statements (list of (sql, args)) that build the wanted index.

    Without O(concurrently): one transaction; ``SET LOCAL`` gives the build its maintenance_work_mem and
    parallel workers, and on Citus ``citus.propagate_set_commands = local`` sends both to the workers while
    ``citus.multi_shard_modify_mode = sequential`` builds one shard at a time per worker (so each worker
    uses maintenance_work_mem once, not once per shard). A re-build drops the old index in the same
    transaction: the table is locked against reads and writes until the build ends.
    With O(concurrently): ``CREATE INDEX CONCURRENTLY`` (under a temporary name when re-building, then
    ``DROP INDEX CONCURRENTLY`` of the old one and a rename); reads and writes go on; the settings are the
    session's (not propagated to Citus workers).
    """
    settings = []
    if params['maintenance_work_mem']:
        settings.append(('maintenance_work_mem', params['maintenance_work_mem']))
    if params['parallel_workers'] is not None:
        settings.append(('max_parallel_maintenance_workers', params['parallel_workers']))
    if params['concurrently']:
        steps = [(sql.SQL('SET %s = %%s' % k), (v,)) for k, v in settings]
        if existing:
            new = temporary_name(name)
            steps += [(sql.SQL('DROP INDEX CONCURRENTLY IF EXISTS {}').format(sql.Identifier(schema, new)), None),
                      _create(params, schema, table, new, True),
                      (sql.SQL('DROP INDEX CONCURRENTLY {}').format(sql.Identifier(schema, name)), None),
                      (sql.SQL('ALTER INDEX {} RENAME TO {}').format(sql.Identifier(schema, new), sql.Identifier(name)),
                       None)]
        else:
            steps.append(_create(params, schema, table, name, True))
        return steps + [(sql.SQL('RESET %s' % k), None) for k, _value in settings]
    steps = [(sql.SQL('BEGIN'), None)]
    if distributed:
        steps += [(sql.SQL("SET LOCAL citus.propagate_set_commands = 'local'"), None),
                  (sql.SQL("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"), None)]
    steps += [(sql.SQL('SET LOCAL %s = %%s' % k), (v,)) for k, v in settings]
    if existing:
        steps.append((sql.SQL('DROP INDEX {}').format(sql.Identifier(schema, name)), None))
    steps += [_create(params, schema, table, name, False), (sql.SQL('COMMIT'), None)]
    return steps


def ef_search_step(params):
    """The statement (sql, args) that sets hnsw.ef_search for the database or the role in it."""
    if params['ef_search_role']:
        return (sql.SQL('ALTER ROLE {} IN DATABASE {} SET hnsw.ef_search = {}').format(
            sql.Identifier(params['ef_search_role']), sql.Identifier(params['login_db']),
            sql.Literal(params['ef_search'])), None)
    return (sql.SQL('ALTER DATABASE {} SET hnsw.ef_search = {}').format(
        sql.Identifier(params['login_db']), sql.Literal(params['ef_search'])), None)


def undo(session, params, schema, name):
    """After a failed build: roll the build's transaction back, or drop an invalid index a concurrent build
    left. Best effort on a raw cursor: the statement that failed stays the one the error names."""
    rollback_quietly(session)
    if not params['concurrently']:
        return
    try:
        cur = session.conn.cursor()
        try:
            for index in (temporary_name(name), name):
                cur.execute(SQL_INDEX, (schema, index))
                row = cur.fetchone()
                if row and not row[7]:
                    cur.execute(sql.SQL('DROP INDEX CONCURRENTLY IF EXISTS {}').format(sql.Identifier(schema, index)))
        finally:
            cur.close()
    except Exception:  # pylint: disable=broad-except
        pass  # the connection is gone: nothing to drop from here


def settings_only(module, session, steps):
    """Without a table: only hnsw.ef_search for the database or the role in it (the module's result)."""
    p = module.params
    before = read_ef_search(session, p['ef_search_role'])
    if before != p['ef_search']:
        steps.append(ef_search_step(p))
    run_statements(module, session, steps)
    result = dict(changed=bool(steps), name=None, definition=None, built=False, build_seconds=0.0,
                  distributed=False, ef_search=p['ef_search'], size_bytes=None)
    if module._diff:
        result['diff'] = dict(before=dict(ef_search=before), after=dict(ef_search=p['ef_search']))
    return result


def manage(module, session):
    """Read, compare, act; the module's result (dict)."""
    p = module.params
    if p['ef_search_role'] and not session.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (p['ef_search_role'],)):
        raise ModuleFailure('role %s does not exist: create it (dpg_users) or fix ef_search_role' % p['ef_search_role'])
    steps = []
    if not p['table']:
        return settings_only(module, session, steps)
    schema, table = split_table(p['table'])
    name = p['name'] or default_name(p['table'], p['column'])
    table_ident = sql.Identifier(schema, table).as_string(session.conn)
    existing = read_index(session, schema, name)
    distributed = bool(session.execute(SQL_DISTRIBUTED)[0][0])
    if distributed:
        distributed = bool(session.execute("SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = "
                                           "to_regclass(%s))", (table_ident,))[0][0])
    if p['state'] == 'present':
        coltype = session.execute(SQL_COLUMN_TYPE, (table_ident, p['column']))
        if not coltype:
            raise ModuleFailure('%s.%s has no column %s (or the table is missing): create the table first, or fix '
                                'table / column' % (schema, table, p['column']))
        if coltype[0][1] != 'vector':
            raise ModuleFailure('%s.%s.%s is %s, not vector: pgvector_index manages indexes of vector columns'
                                % (schema, table, p['column'], coltype[0][0]))
        if existing and existing['table'] not in (table_ident, '%s.%s' % (schema, table), table):
            raise ModuleFailure('index %s.%s exists on another table (%s): choose another name'
                                % (schema, name, existing['table']))
        same = existing and existing['valid'] and (
            existing['method'], existing['opclass'], existing['column'], existing['options']) == (
            p['method'], p['opclass'], p['column'], wanted_options(p))
        if not same:
            steps.extend(build_steps(p, schema, table, name, existing, distributed))
    elif existing:
        steps.append((sql.SQL('DROP INDEX {}').format(sql.Identifier(schema, name)), None))
    ef_before = read_ef_search(session, p['ef_search_role']) if p['ef_search'] is not None else None
    if p['ef_search'] is not None and ef_before != p['ef_search']:
        steps.append(ef_search_step(p))
    started = time.time()
    try:
        run_statements(module, session, steps)
    except Exception:
        if not module.check_mode:
            undo(session, p, schema, name)
        raise
    seconds = round(time.time() - started, 3) if steps and not module.check_mode else 0.0
    changed = bool(steps)
    planned = next((q for q in session.queries if q.startswith('CREATE INDEX')), None)
    if planned and p['concurrently'] and existing:
        planned = planned.replace(sql.Identifier(temporary_name(name)).as_string(session.conn),
                                  sql.Identifier(name).as_string(session.conn), 1)
    built = planned is not None and not module.check_mode
    if module.check_mode:
        after = None
        definition = None if p['state'] == 'absent' else (planned or (existing and existing['definition']))
    else:
        after = read_index(session, schema, name)
        definition = after['definition'] if after else None
    ef_after = p['ef_search'] if p['ef_search'] is not None else None
    result = dict(changed=changed, name=name, definition=definition, built=built,
                  build_seconds=seconds if built else 0.0, distributed=distributed, ef_search=ef_after,
                  size_bytes=index_size(session, schema, name, table_ident, distributed)
                  if (after or (existing and module.check_mode)) else None)
    if module._diff:
        result['diff'] = dict(before=dict(definition=existing and existing['definition'], ef_search=ef_before),
                              after=dict(definition=definition, ef_search=ef_after if ef_after is not None
                                         else ef_before))
    return result


def main():
    argument_spec = dict(
        table=dict(type='str'),
        column=dict(type='str'),
        name=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        method=dict(type='str', default='hnsw', choices=['hnsw', 'ivfflat']),
        opclass=dict(type='str', default='vector_cosine_ops',
                     choices=['vector_cosine_ops', 'vector_l2_ops', 'vector_ip_ops', 'vector_l1_ops']),
        m=dict(type='int', default=16),
        ef_construction=dict(type='int', default=64),
        lists=dict(type='int', default=100),
        maintenance_work_mem=dict(type='str'),
        parallel_workers=dict(type='int'),
        concurrently=dict(type='bool', default=False),
        ef_search=dict(type='int'),
        ef_search_role=dict(type='str'),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=[('table', 'column')], required_one_of=[('table', 'ef_search')])
    problems = check_params(module.params)
    if problems:
        module.fail_json(msg='pgvector_index: ' + '; '.join(problems), queries=[])
    run_module(module, lambda session: manage(module, session))


if __name__ == '__main__':
    main()
