#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: citus_tenant
short_description: Isolate one tenant of a hash-distributed table into a shard of its own
version_added: 0.1.0
description:
  - Calls C(isolate_tenant_to_new_shard()) for O(tenant) of O(table) when that value does not already have a
    shard of its own (a shard whose minimum and maximum hash value are equal).
  - The tenant value is cast to the distribution column's type and bound as a parameter.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details: Reports the statement that would run; runs none.
  diff_mode:
    support: full
    details: The tenant's shard before and after.
options:
  table:
    description:
      - Hash-distributed table, written as in SQL.
    type: str
    required: true
  tenant:
    description:
      - Value of the distribution column that identifies the tenant, as text; it is cast to the column's type.
    type: str
    required: true
  cascade:
    description:
      - Isolate the tenant in every table colocated with O(table) too (Citus requires it when there are any).
    type: bool
    default: true
  shard_transfer_mode:
    description:
      - How the new shard is written.
    type: str
    choices: [auto, force_logical, block_writes]
    default: auto
'''

EXAMPLES = r'''
- name: Give tenant 42 its own shard in users and every colocated table
  dpg.cluster.citus_tenant:
    login_db: citus
    table: distributed.users
    tenant: "42"
'''

RETURN = r'''
shard_before:
  description: The tenant's shard before (shardid, min and max hash value).
  returned: always
  type: dict
  sample: {shardid: 102008, min: "-268435456", max: "-134217729"}
shard_after:
  description: The tenant's shard after.
  returned: always
  type: dict
  sample: {shardid: 102045, min: "-200000000", max: "-200000000"}
isolated:
  description: Whether the tenant has a shard of its own after the task.
  returned: always
  type: bool
queries:
  description: Statements run (in check mode, that would run).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _citus
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import (
    POSTGRES_ARGSPEC, DatabaseError, ModuleFailure, run_module, run_statements)

ISOLATE = ('SELECT pg_catalog.isolate_tenant_to_new_shard(%s::oid::regclass, {value}, cascade_option => %s, '
           'shard_transfer_mode => %s::citus.shard_transfer_mode)')


def tenant_shard(session, table_oid, value_sql, tenant):
    """The shard holding ``tenant``: dict(shardid, min, max) with the hash range as text."""
    rows = session.execute(_citus.SQL_SHARD_OF_VALUE.format(value=value_sql), (table_oid, tenant), record=False)
    shardid, low, high = rows[0]
    return dict(shardid=shardid, min=low, max=high)


def main():
    argument_spec = dict(
        table=dict(type='str', required=True),
        tenant=dict(type='str', required=True),
        cascade=dict(type='bool', default=True),
        shard_transfer_mode=dict(type='str', default='auto', choices=['auto', 'force_logical', 'block_writes']),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    def body(session):
        catalog = _citus.Catalog(session)
        catalog.require_coordinator()
        table = catalog.table(p['table'])
        if table is None:
            raise _citus.CitusError('table %s does not exist in database %s' % (p['table'], p['login_db']))
        part = catalog.partition(table['oid'])
        if part is None or part['type'] != 'hash':
            raise _citus.CitusError('%s is not hash-distributed: only a hash-distributed table has tenants to isolate'
                                    % table['qualified'])
        coltype = catalog.column_type(table['oid'], part['distribution_column'])
        # The value is a bound parameter; the cast names the column's type as format_type() spells it
        # (from the catalog, quoted by PostgreSQL), so the function sees the distribution column's type.
        value_sql = '%s::' + coltype[0]
        try:
            before = tenant_shard(session, table['oid'], value_sql, p['tenant'])
        except DatabaseError as e:
            if getattr(e, 'pgcode', None) and e.pgcode.startswith('22'):
                raise ModuleFailure('%r is not a valid %s value for %s: %s'
                                    % (p['tenant'], coltype[0], table['qualified'], str(e).strip()))
            raise
        result = dict(changed=False, shard_before=before, shard_after=before, isolated=before['min'] == before['max'])
        if not result['isolated']:
            stmt = ISOLATE.format(value=value_sql)
            args = (table['oid'], p['tenant'], 'CASCADE' if p['cascade'] else '', p['shard_transfer_mode'])
            result['changed'] = True
            run_statements(module, session, [(stmt, args)])
            if not module.check_mode:
                result['shard_after'] = tenant_shard(session, table['oid'], value_sql, p['tenant'])
                result['isolated'] = result['shard_after']['min'] == result['shard_after']['max']
            result['diff'] = dict(before=before, after=result['shard_after'])
        return result

    run_module(module, body)


if __name__ == '__main__':
    main()
