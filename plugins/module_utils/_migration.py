# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Propose how a single-node database's tables go into Citus. Pure functions, no I/O.

The heuristic follows Citus' own guidance for multi-tenant and real-time schemas: find the
column most tables share in their primary key (the tenant or entity key), hash-distribute every
table that has it, colocated; make small tables that others reference into reference tables;
keep the rest as they are named in the reasons. An operator reviews the proposal (check mode
prints it) and can override any table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SQL_TABLES = (
    "SELECT n.nspname, c.relname, c.oid::bigint, "
    "GREATEST(c.reltuples, 0)::bigint, "
    "coalesce((SELECT array_agg(a.attname ORDER BY array_position(i.indkey::int2[], a.attnum)) "
    "          FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
    "          ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
    "          WHERE i.indrelid = c.oid AND i.indisprimary), '{}'), "
    "(SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
    " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s) "
    "ORDER BY 1, 2")
SQL_FOREIGN_KEYS = (
    "SELECT cn.nspname || '.' || c.relname, rn.nspname || '.' || r.relname, "
    "(SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
    " WHERE a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)) "
    "FROM pg_catalog.pg_constraint k "
    "JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace "
    "JOIN pg_catalog.pg_class r ON r.oid = k.confrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace "
    "WHERE k.contype = 'f' AND cn.nspname = ANY(%s)")


def propose(tables, foreign_keys, reference_max_rows=100000, overrides=None):
    """Propose a Citus layout.

    :param tables: list of dicts name ('schema.table'), rows (int, estimate), primary_key (list of
        column names), columns (list of column names).
    :param foreign_keys: list of (referencing table, referenced table, referencing columns).
    :param reference_max_rows: largest table (rows) that may become a reference table.
    :param overrides: dict table -> dict(type, distribution_column) that replaces the proposal.
    :returns: dict(tenant_column (str or None), tables: list of dicts name, type, distribution_column,
        colocate_with, rows, reason) in the order to apply them: reference tables (referenced ones
        first), then the colocation anchor, then the other hash tables, then local ones.
    """
    overrides = overrides or {}
    by_name = dict((t['name'], t) for t in tables)
    referenced_by = {}
    for src, dst, _cols in foreign_keys:
        referenced_by.setdefault(dst, set()).add(src)

    counts = {}
    for t in tables:
        for col in t['primary_key']:
            n, rows = counts.get(col, (0, 0))
            counts[col] = (n + 1, rows + t['rows'])
    shared = sorted(((n, rows, col) for col, (n, rows) in counts.items() if n >= 2), reverse=True)
    tenant = shared[0][2] if shared else None

    plan = {}
    for t in tables:
        name = t['name']
        if tenant and tenant in t['columns'] and (tenant in t['primary_key'] or not t['primary_key']):
            plan[name] = dict(type='hash', distribution_column=tenant,
                              reason='has the shared key %s (in the primary key of %d tables)' % (tenant, shared[0][0]))
        elif t['rows'] <= reference_max_rows and (name in referenced_by or not t['primary_key']):
            plan[name] = dict(type='reference', distribution_column=None,
                              reason='%d rows%s: copied to every node' % (
                                  t['rows'], ', referenced by ' + ', '.join(sorted(referenced_by[name]))
                                  if name in referenced_by else ''))
        elif t['rows'] <= reference_max_rows:
            plan[name] = dict(type='reference', distribution_column=None,
                              reason='%d rows, no shared key: small enough to copy to every node' % t['rows'])
        elif t['primary_key']:
            plan[name] = dict(type='hash', distribution_column=t['primary_key'][0],
                              reason='%d rows without the shared key: hash by its first primary key column, '
                                     'own colocation group' % t['rows'])
        else:
            plan[name] = dict(type='local', distribution_column=None,
                              reason='%d rows and no primary key: kept on the coordinator' % t['rows'])
    for name, override in overrides.items():
        if name in plan:
            plan[name] = dict(type=override.get('type', 'hash'), distribution_column=override.get('distribution_column'),
                              reason='override')

    anchor = None
    tenant_tables = [t for t in tables if plan[t['name']]['type'] == 'hash'
                     and plan[t['name']]['distribution_column'] == tenant and tenant]
    if tenant_tables:
        anchor = max(tenant_tables, key=lambda t: (t['rows'], t['name']))['name']

    ordered = []
    refs = [t['name'] for t in tables if plan[t['name']]['type'] == 'reference']
    # referenced reference tables first
    while refs:
        ready = [r for r in refs if not [s for s, d, c in foreign_keys if s == r and d in refs and d != r]]
        ready = ready or refs[:1]
        for r in sorted(ready):
            ordered.append(r)
            refs.remove(r)
    hashes = [t['name'] for t in tables if plan[t['name']]['type'] == 'hash']
    if anchor:
        ordered.append(anchor)
    ordered += [h for h in hashes if h != anchor]
    ordered += [t['name'] for t in tables if plan[t['name']]['type'] == 'local']

    out = []
    for name in ordered:
        p = plan[name]
        colocate = 'none'
        if p['type'] == 'hash' and anchor and name != anchor and p['distribution_column'] == tenant:
            colocate = anchor
        elif p['type'] != 'hash':
            colocate = 'default'
        out.append(dict(name=name, type=p['type'], distribution_column=p['distribution_column'],
                        colocate_with=colocate, rows=by_name[name]['rows'], reason=p['reason']))
    return dict(tenant_column=tenant, tables=out)
