#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: citus_distributed_table
short_description: Make a table hash-distributed, reference, Citus-local or single-shard, or undistribute it
version_added: 0.1.0
description:
  - Reconciles one table's place in Citus metadata, on the coordinator.
  - A table already distributed with the wanted properties is left alone. A table that Citus made Citus-local by
    itself (C(autoconverted), for example through a foreign key to a reference table) is converted as the task says. When it differs (distribution column,
    shard count, colocation or kind) the task fails naming the difference, unless O(alter=true), which changes
    it with C(alter_distributed_table) (hash to hash) or by undistributing and distributing again (other kinds).
  - O(state=absent) undistributes the table with C(undistribute_table); a table not in Citus metadata is left alone.
  - Reads only catalogs (pg_dist_partition, pg_dist_colocation), never views that connect to every worker.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details: Validates and reports the statements that would run; runs none.
  diff_mode:
    support: full
    details: The table's kind, distribution column, shard count and colocation group before and after.
options:
  table:
    description:
      - The table, written as in SQL (V(schema.table), V("Odd Schema"."Odd Table")). Resolved with C(to_regclass).
    type: str
    required: true
  state:
    description:
      - V(present) puts the table in Citus metadata as O(type) says; V(absent) undistributes it.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - V(hash) hash-distributed by O(distribution_column); V(reference) replicated to every node;
        V(local) Citus-local (coordinator only, joinable with reference tables); V(single_shard) one shard,
        no distribution column.
    type: str
    choices: [hash, reference, local, single_shard]
    default: hash
  distribution_column:
    description:
      - Column to distribute by, its exact name as stored (no case folding). Required for O(type=hash).
    type: str
  shard_count:
    description:
      - Number of shards, 1 to 64000. Default is C(citus.shard_count) (32) or the colocated table's.
      - Cannot be combined with a table name in O(colocate_with).
    type: int
  colocate_with:
    description:
      - V(default) puts the table in the default colocation group of its column type and shard count;
        V(none) starts a new group; a table name colocates with that table, whose distribution column must
        have the same type.
    type: str
    default: default
  concurrently:
    description:
      - Use C(create_distributed_table_concurrently) (hash only), which does not block writes. A table left
        Citus-local by a failed second phase is distributed again on the next run.
    type: bool
    default: false
  alter:
    description:
      - Allow changing an already distributed table whose properties differ from the task.
    type: bool
    default: false
  cascade_to_colocated:
    description:
      - With O(alter), change the shard count of every table colocated with this one too (Citus requires it for a
        colocated table).
    type: bool
    default: false
  cascade_via_foreign_keys:
    description:
      - With O(state=absent) or O(type=local), include tables connected by foreign keys.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Distribute users by user_id in a new colocation group
  dpg.cluster.citus_distributed_table:
    login_db: citus
    table: distributed.users
    distribution_column: user_id
    colocate_with: none

- name: Colocate events with users
  dpg.cluster.citus_distributed_table:
    login_db: citus
    table: distributed.events
    distribution_column: user_id
    colocate_with: distributed.users

- name: Reference table
  dpg.cluster.citus_distributed_table:
    login_db: citus
    table: reference.country_codes
    type: reference

- name: Undistribute
  dpg.cluster.citus_distributed_table:
    login_db: citus
    table: distributed.events
    state: absent
'''

RETURN = r'''
table:
  description: The table, schema-qualified and quoted where needed.
  returned: always
  type: str
  sample: distributed.users
exists:
  description: Whether the table exists.
  returned: always
  type: bool
before:
  description: Citus state before the task (None when the table was not in Citus metadata).
  returned: always
  type: dict
  sample: {type: hash, distribution_column: user_id, shard_count: 32, colocationid: 2}
after:
  description: Citus state after the task (in check mode, what it would be).
  returned: always
  type: dict
differences:
  description: How the table differed from the task before it ran.
  returned: always
  type: list
  elements: str
queries:
  description: Statements run (in check mode, that would run).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _citus
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import POSTGRES_ARGSPEC, run_module, run_statements


def _state(partition):
    if partition is None:
        return None
    return dict(type=partition['type'], distribution_column=partition['distribution_column'],
                shard_count=partition['shard_count'], colocationid=partition['colocationid'],
                autoconverted=partition.get('autoconverted', False))


def plan(p, catalog):
    """Decide what to run. Returns (result fields, list of (sql, args)).

    :raises _citus.CitusError: for bad input or a difference the task does not allow changing.
    """
    if p['shard_count'] is not None and not 1 <= p['shard_count'] <= _citus.MAX_SHARD_COUNT:
        raise _citus.CitusError('shard_count must be between 1 and %d, got %d' % (_citus.MAX_SHARD_COUNT, p['shard_count']))
    if p['type'] == 'hash' and p['state'] == 'present' and not p['distribution_column']:
        raise _citus.CitusError('type=hash needs distribution_column')
    if p['type'] != 'hash' and p['distribution_column']:
        raise _citus.CitusError('distribution_column applies only to type=hash, not %s' % p['type'])
    if p['concurrently'] and p['type'] != 'hash':
        raise _citus.CitusError('concurrently applies only to type=hash')
    colocate = p['colocate_with']
    named_colocation = colocate not in ('default', 'none')
    if named_colocation and p['shard_count'] is not None:
        raise _citus.CitusError('shard_count cannot be combined with colocate_with=%s: the table takes the shard '
                                'count of the table it is colocated with' % colocate)

    catalog.require_coordinator()
    table = catalog.table(p['table'])
    if table is None:
        if p['state'] == 'absent':
            return dict(table=p['table'], exists=False, before=None, after=None, differences=[]), []
        raise _citus.CitusError('table %s does not exist in database %s: create it first' % (p['table'], p['login_db']))
    if table['relkind'] not in ('r', 'p'):
        raise _citus.CitusError('%s is not a table (relkind %s)' % (table['qualified'], table['relkind']))
    oid = table['oid']
    current = _state(catalog.partition(oid))
    result = dict(table=table['qualified'], exists=True, before=current, after=current, differences=[])
    steps = []

    if p['state'] == 'absent':
        if current is not None:
            steps.append(('SELECT pg_catalog.undistribute_table(%s::oid::regclass, cascade_via_foreign_keys => %s)',
                          (oid, p['cascade_via_foreign_keys'])))
            result['after'] = None
        return result, steps

    desired = dict(type=p['type'], distribution_column=p['distribution_column'], shard_count=p['shard_count'],
                   colocationid=None)
    if p['type'] == 'hash':
        coltype = catalog.column_type(oid, p['distribution_column'])
        if coltype is None:
            raise _citus.CitusError('column %s does not exist in table %s' % (p['distribution_column'], table['qualified']))
        if named_colocation:
            other = catalog.table(colocate)
            if other is None:
                raise _citus.CitusError('colocate_with table %s does not exist' % colocate)
            other_part = catalog.partition(other['oid'])
            if other_part is None or other_part['type'] != 'hash':
                raise _citus.CitusError('colocate_with table %s is not hash-distributed; distribute it first'
                                        % other['qualified'])
            if other_part['distribution_column_type'] != coltype[1]:
                other_type = catalog.column_type(other['oid'], other_part['distribution_column'])
                raise _citus.CitusError('colocate_with table %s is distributed by %s (%s) but column %s of %s is %s: '
                                        'colocated tables need the same distribution column type'
                                        % (other['qualified'], other_part['distribution_column'],
                                           other_type[0] if other_type else '?', p['distribution_column'],
                                           table['qualified'], coltype[0]))
            desired['colocationid'] = other_part['colocationid'] if other['oid'] != oid else None
            desired['shard_count'] = other_part['shard_count']

    # A table left Citus-local by a failed create_distributed_table_concurrently is resumable, and
    # one Citus made Citus-local by itself (autoconverted: a foreign key to a reference table) was
    # never the operator's choice: both are distributed as the task says, without alter.
    resumable = current is not None and current['type'] == 'local' and p['type'] != 'local' and (
        current['autoconverted'] or (p['type'] == 'hash' and p['concurrently']))
    diffs = _citus.differences(current, desired) if current is not None and not resumable else []
    result['differences'] = diffs
    after = dict(desired)
    if after['colocationid'] is None:
        after['colocationid'] = current['colocationid'] if current and not diffs else None
    if after['shard_count'] is None and p['type'] == 'hash':
        after['shard_count'] = current['shard_count'] if current and not diffs else None

    if current is not None and not diffs and not resumable:
        return result, []
    if current is not None and diffs and not resumable:
        if not p['alter']:
            raise _citus.CitusError('%s is already in Citus with other properties: %s. Set alter: true to change it'
                                    % (table['qualified'], '; '.join(diffs)))
        result['after'] = after
        if current['type'] == 'hash' and p['type'] == 'hash':
            args = [oid]
            parts = []
            if current['distribution_column'] != p['distribution_column']:
                parts.append('distribution_column => %s')
                args.append(p['distribution_column'])
            if p['shard_count'] and current['shard_count'] != p['shard_count']:
                parts.append('shard_count => %s')
                args.append(p['shard_count'])
            if named_colocation and desired['colocationid'] != current['colocationid']:
                parts.append('colocate_with => %s')
                args.append(colocate)
            parts.append('cascade_to_colocated => %s')
            args.append(p['cascade_to_colocated'])
            steps.append(('SELECT pg_catalog.alter_distributed_table(%s::oid::regclass, ' + ', '.join(parts) + ')',
                          tuple(args)))
            return result, steps
        steps.append(('SELECT pg_catalog.undistribute_table(%s::oid::regclass, cascade_via_foreign_keys => %s)',
                      (oid, p['cascade_via_foreign_keys'])))

    result['after'] = after
    steps.append(_create_statement(p, oid))
    return result, steps


def _create_statement(p, oid):
    if p['type'] == 'reference':
        return 'SELECT pg_catalog.create_reference_table(%s::oid::regclass)', (oid,)
    if p['type'] == 'local':
        return ('SELECT pg_catalog.citus_add_local_table_to_metadata(%s::oid::regclass, cascade_via_foreign_keys => %s)',
                (oid, p['cascade_via_foreign_keys']))
    if p['type'] == 'single_shard':
        colocate = p['colocate_with'] if p['colocate_with'] != 'default' else 'none'
        return ('SELECT pg_catalog.create_distributed_table(%s::oid::regclass, NULL, colocate_with => %s)',
                (oid, colocate))
    func = 'create_distributed_table_concurrently' if p['concurrently'] else 'create_distributed_table'
    if p['shard_count']:
        return ('SELECT pg_catalog.%s(%%s::oid::regclass, %%s, colocate_with => %%s, shard_count => %%s)' % func,
                (oid, p['distribution_column'], p['colocate_with'], p['shard_count']))
    return ('SELECT pg_catalog.%s(%%s::oid::regclass, %%s, colocate_with => %%s)' % func,
            (oid, p['distribution_column'], p['colocate_with']))


def main():
    argument_spec = dict(
        table=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        type=dict(type='str', default='hash', choices=list(_citus.TABLE_TYPES)),
        distribution_column=dict(type='str'),
        shard_count=dict(type='int'),
        colocate_with=dict(type='str', default='default'),
        concurrently=dict(type='bool', default=False),
        alter=dict(type='bool', default=False),
        cascade_to_colocated=dict(type='bool', default=False),
        cascade_via_foreign_keys=dict(type='bool', default=False),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    def body(session):
        catalog = _citus.Catalog(session)
        result, steps = plan(module.params, catalog)
        result['changed'] = bool(steps)
        if steps:
            result['diff'] = dict(before=result['before'] or {}, after=result['after'] or {})
        run_statements(module, session, steps)
        if steps and not module.check_mode:
            table = catalog.table(result['table'])
            result['after'] = _state(catalog.partition(table['oid'])) if table else None
        return result

    run_module(module, body)


if __name__ == '__main__':
    main()
