# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Citus catalog reads and the pure decisions the citus_* modules make on them.

Reads use the catalogs (pg_dist_node, pg_dist_partition, pg_dist_colocation, pg_dist_shard,
pg_dist_placement), never the citus_tables / citus_shards views, which call
citus_shard_sizes() and so connect to every worker. Facts: shared/reference/citus.md
(Citus 13.2 source, src/backend/distributed/sql/udfs/*/latest.sql).

Every SQL text is a module constant so that tests can answer them from a fake session.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dpg.cluster.plugins.module_utils._postgres import ModuleFailure

MAX_SHARD_COUNT = 64000
# PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes (63) without an error.
MAX_IDENTIFIER_BYTES = 63

SQL_CITUS_VERSION = "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'citus'"
SQL_IS_COORDINATOR = "SELECT pg_catalog.citus_is_coordinator(), pg_catalog.pg_is_in_recovery()"
SQL_TABLE = (
    "SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.oid = pg_catalog.to_regclass(%s)")
SQL_COLUMN_TYPE = (
    "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid::bigint "
    "FROM pg_catalog.pg_attribute a "
    "WHERE a.attrelid = %s::oid AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped")
SQL_PARTITION = (
    "SELECT p.partmethod::text, "
    "CASE WHEN p.partkey IS NULL THEN NULL "
    "ELSE pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END, "
    "p.colocationid, p.repmodel::text, coalesce(co.shardcount, 0), "
    "(SELECT count(*) FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid), "
    "co.distributioncolumntype::bigint, p.autoconverted "
    "FROM pg_catalog.pg_dist_partition p "
    "LEFT JOIN pg_catalog.pg_dist_colocation co ON co.colocationid = p.colocationid "
    "WHERE p.logicalrelid = %s::oid")
SQL_NODES = (
    "SELECT nodeid, groupid, nodename, nodeport, isactive, noderole::text, shouldhaveshards, "
    "hasmetadata, metadatasynced FROM pg_catalog.pg_dist_node ORDER BY groupid, nodeid")
SQL_PLACEMENTS_PER_NODE = (
    "SELECT n.nodename, n.nodeport, n.groupid, count(pl.placementid) "
    "FROM pg_catalog.pg_dist_node n "
    "LEFT JOIN pg_catalog.pg_dist_placement pl ON pl.groupid = n.groupid "
    "WHERE n.noderole = 'primary' "
    "GROUP BY n.nodename, n.nodeport, n.groupid ORDER BY n.groupid")
# Placements a drain moves: shards of distributed tables. Reference tables keep a placement
# on every node and are not counted.
SQL_NODE_PLACEMENTS = (
    "SELECT count(*) FROM pg_catalog.pg_dist_placement pl "
    "JOIN pg_catalog.pg_dist_node n ON n.groupid = pl.groupid "
    "JOIN pg_catalog.pg_dist_shard s ON s.shardid = pl.shardid "
    "JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = s.logicalrelid "
    "WHERE n.nodename = %s AND n.nodeport = %s AND p.repmodel <> 't'")
SQL_TABLES = (
    "SELECT p.logicalrelid::regclass::text, p.partmethod::text, p.repmodel::text, p.colocationid, "
    "CASE WHEN p.partkey IS NULL THEN NULL "
    "ELSE pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END, "
    "(SELECT count(*) FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid) "
    "FROM pg_catalog.pg_dist_partition p ORDER BY 1")
SQL_SHARD_OF_VALUE = (
    "SELECT s.shardid, s.shardminvalue, s.shardmaxvalue FROM pg_catalog.pg_dist_shard s "
    "WHERE s.shardid = pg_catalog.get_shard_id_for_distribution_column(%s::regclass, {value})")

# The kinds of table the modules manage, and how pg_dist_partition shows each.
TABLE_TYPES = ('hash', 'reference', 'local', 'single_shard')


class CitusError(ModuleFailure):
    """Bad input or a state the module must not act on; the message says what to do."""


def split_identifier(name):
    """Split a possibly qualified, possibly quoted SQL name into its parts as PostgreSQL reads them.

    ``'Sales."Order Items"'`` -> ``['sales', 'Order Items']`` (unquoted parts fold to lower case,
    ``""`` inside quotes is one quote). Raises :class:`CitusError` for an unterminated quote, an
    empty part, or a part longer than 63 bytes, which PostgreSQL would silently truncate (and
    then act on whichever object has the truncated name).
    """
    parts, buf, i, quoted_part = [], [], 0, False
    text = str(name)
    while i < len(text):
        ch = text[i]
        if ch == '"':
            end = i + 1
            while True:
                end = text.find('"', end)
                if end < 0:
                    raise CitusError('%s: unterminated quoted identifier' % name)
                if text[end + 1:end + 2] == '"':
                    end += 2
                    continue
                break
            buf.append(text[i + 1:end].replace('""', '"'))
            quoted_part = True
            i = end + 1
        elif ch == '.':
            parts.append(''.join(buf) if quoted_part else ''.join(buf).strip().lower())
            buf, quoted_part = [], False
            i += 1
        else:
            buf.append(ch)
            i += 1
    parts.append(''.join(buf) if quoted_part else ''.join(buf).strip().lower())
    for part in parts:
        if not part:
            raise CitusError('%s: empty name part' % name)
        if len(part.encode('utf-8')) > MAX_IDENTIFIER_BYTES:
            raise CitusError('%s: %r is %d bytes long; PostgreSQL identifiers have at most %d bytes and longer '
                             'ones are truncated silently, so the module refuses it'
                             % (name, part, len(part.encode('utf-8')), MAX_IDENTIFIER_BYTES))
    return parts


def table_type(partition):
    """Kind of Citus table from a :func:`Catalog.partition` dict, or None when not in Citus.

    partmethod 'h' is hash-distributed; 'n' with repmodel 't' a reference table; 'n' with
    repmodel 's' and a colocation group a single-shard table; 'n' otherwise Citus-local
    (shared/reference/citus.md).
    """
    if partition is None:
        return None
    method, repmodel = partition['partmethod'], partition['repmodel']
    if method == 'h':
        return 'hash'
    if method == 'n' and repmodel == 't':
        return 'reference'
    if method == 'n' and partition['colocationid'] and partition['shard_count'] == 1 and repmodel == 's':
        return 'single_shard'
    if method == 'n':
        return 'local'
    return {'r': 'range', 'a': 'append'}.get(method, method)


def differences(current, desired):
    """What differs between a table's Citus state and the wanted one.

    :param current: dict with type, distribution_column, shard_count, colocationid (or None for
        a table not in Citus metadata).
    :param desired: dict with type, distribution_column, shard_count (None = any) and
        colocationid (None = any).
    :returns: list of human-readable differences, e.g. "distribution column is a, task wants b".
    """
    if current is None:
        return ['not in Citus metadata']
    out = []
    if current['type'] != desired['type']:
        out.append('table is %s, task wants %s' % (current['type'], desired['type']))
        return out
    if desired['type'] == 'hash':
        if current['distribution_column'] != desired['distribution_column']:
            out.append('distribution column is %s, task wants %s'
                       % (current['distribution_column'], desired['distribution_column']))
        if desired.get('shard_count') and current['shard_count'] != desired['shard_count']:
            out.append('shard count is %s, task wants %s' % (current['shard_count'], desired['shard_count']))
        if desired.get('colocationid') is not None and current['colocationid'] != desired['colocationid']:
            out.append('colocation group is %s, colocate_with table is in %s'
                       % (current['colocationid'], desired['colocationid']))
    return out


def skew(counts):
    """Skew of per-node amounts, in percent: (max - mean) / mean * 100.

    :param counts: dict node -> number (shards or bytes) over the nodes that should hold data.
    :returns: float rounded to 0.1; 0.0 for no nodes or an all-zero distribution.
    """
    values = list(counts.values())
    if not values:
        return 0.0
    mean = float(sum(values)) / len(values)
    if mean == 0:
        return 0.0
    return round((max(values) - mean) / mean * 100.0, 1)


class Catalog(object):
    """Reads of the Citus catalogs through a :class:`_postgres.Session` (not recorded as queries)."""

    def __init__(self, session):
        self.session = session

    def _rows(self, query, args=None):
        return self.session.execute(query, args, record=False)

    def citus_version(self):
        """extversion of the citus extension in this database, or None."""
        rows = self._rows(SQL_CITUS_VERSION)
        return rows[0][0] if rows else None

    def require_coordinator(self, writable=True):
        """Raise :class:`CitusError` unless this database has Citus and is the coordinator.

        :param writable: also require the coordinator group's primary, not one of its replicas.
        """
        if not self.citus_version():
            raise CitusError('the citus extension is not installed in this database: connect to the '
                             'distributed database (login_db) on the coordinator')
        coordinator, in_recovery = self._rows(SQL_IS_COORDINATOR)[0]
        if not coordinator:
            raise CitusError('this node is not the Citus coordinator: connect to the coordinator '
                             "group's primary (group 0)")
        if writable and in_recovery:
            raise CitusError('this is a replica of the coordinator group (in recovery): connect to its '
                             'primary, the Patroni leader of group 0')

    def table(self, name):
        """dict(oid, schema, name, relkind, qualified) for a table name (quoted as in SQL), or None.

        :raises CitusError: for a name PostgreSQL would truncate (:func:`split_identifier`).
        """
        split_identifier(name)
        rows = self._rows(SQL_TABLE, (name,))
        if not rows:
            return None
        oid, schema, rel, relkind = rows[0]
        return dict(oid=oid, schema=schema, name=rel, relkind=relkind, qualified='%s.%s' % (
            quote_ident(schema), quote_ident(rel)))

    def column_type(self, oid, column):
        """(format_type text, type oid) of a column, or None when the table has no such column.

        :raises CitusError: for a column name longer than 63 bytes.
        """
        if len(str(column).encode('utf-8')) > MAX_IDENTIFIER_BYTES:
            raise CitusError('column %r is longer than %d bytes: PostgreSQL would truncate it' % (column, MAX_IDENTIFIER_BYTES))
        rows = self._rows(SQL_COLUMN_TYPE, (oid, column))
        return (rows[0][0], rows[0][1]) if rows else None

    def partition(self, oid):
        """pg_dist_partition row of a table as a dict, with type, or None when not in Citus."""
        rows = self._rows(SQL_PARTITION, (oid,))
        if not rows:
            return None
        method, column, colocationid, repmodel, shardcount, shards, coltype, autoconverted = rows[0]
        out = dict(partmethod=method, distribution_column=column, colocationid=colocationid,
                   repmodel=repmodel, shard_count=int(shards or shardcount or 0),
                   distribution_column_type=coltype, autoconverted=bool(autoconverted))
        out['type'] = table_type(out)
        return out

    def nodes(self):
        """pg_dist_node rows as dicts."""
        keys = ('nodeid', 'groupid', 'nodename', 'nodeport', 'isactive', 'noderole', 'shouldhaveshards',
                'hasmetadata', 'metadatasynced')
        return [dict(zip(keys, r)) for r in self._rows(SQL_NODES)]

    def node(self, name, port):
        """The pg_dist_node row of name:port, or None."""
        for n in self.nodes():
            if n['nodename'] == name and n['nodeport'] == port:
                return n
        return None

    def node_placements(self, name, port):
        """Number of placements of distributed (non-reference) tables' shards on name:port."""
        return int(self._rows(SQL_NODE_PLACEMENTS, (name, port))[0][0])

    def placements_per_node(self):
        """dict 'name:port' -> placements, over primary nodes (the coordinator included)."""
        return dict(('%s:%s' % (r[0], r[1]), int(r[3])) for r in self._rows(SQL_PLACEMENTS_PER_NODE))

    def tables(self):
        """Every table in Citus metadata: list of dicts name, type, colocationid, column, shards."""
        out = []
        for name, method, repmodel, colocationid, column, shards in self._rows(SQL_TABLES):
            part = dict(partmethod=method, repmodel=repmodel, colocationid=colocationid, shard_count=int(shards))
            out.append(dict(name=name, type=table_type(part), colocationid=colocationid,
                            distribution_column=column, shard_count=int(shards)))
        return out


def quote_ident(name):
    """Quote an identifier the way PostgreSQL's quote_ident does when needed (for messages and keys)."""
    if name and name[0] in 'abcdefghijklmnopqrstuvwxyz_' and all(
            ch in 'abcdefghijklmnopqrstuvwxyz0123456789_$' for ch in name):
        return name
    return '"%s"' % name.replace('"', '""')
