#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: citus_migration_plan
short_description: Analyse a single-node PostgreSQL database and propose how its tables go into Citus
version_added: 0.1.0
description:
  - Reads the tables of O(schemas) in the source database (connection options), with their estimated rows, primary keys,
    columns and foreign keys.
  - Proposes for each table a kind (hash, reference, local), a distribution column and colocation, and says why.
    The column most tables share in their primary key becomes the distribution column of every table that has
    it, all colocated; small tables become reference tables; large ones without the shared key are hashed by
    their first primary key column; large ones without a primary key stay on the coordinator.
  - Returns the tables in the order to distribute them. Changes nothing; playbooks/ops/citus_migrate.yml applies it.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
  - dpg.cluster.attributes.read_only
options:
  schemas:
    description:
      - Schemas whose tables to analyse.
    type: list
    elements: str
    default: [public]
  reference_max_rows:
    description:
      - Largest table, in estimated rows, that may become a reference table.
    type: int
    default: 100000
  overrides:
    description:
      - Table (schema.table) to dict with C(type) (hash, reference, local) and C(distribution_column), replacing the
        proposal for that table.
    type: dict
    default: {}
'''

EXAMPLES = r'''
- name: Propose a Citus layout for the legacy database
  dpg.cluster.citus_migration_plan:
    login_host: legacy-db.example.org
    login_db: shop
    login_password: "{{ legacy_password }}"
    schemas: [shop]
  register: plan
'''

RETURN = r'''
tenant_column:
  description: The shared key chosen as distribution column (None when no column is in two primary keys).
  returned: always
  type: str
  sample: user_id
tables:
  description: Proposal per table, in the order to apply it.
  returned: always
  type: list
  elements: dict
  sample: [{name: shop.countries, type: reference, distribution_column: null, colocate_with: default, rows: 250,
            reason: "250 rows, referenced by shop.users: copied to every node"}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _migration
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import POSTGRES_ARGSPEC, ModuleFailure, run_module


def main():
    argument_spec = dict(
        schemas=dict(type='list', elements='str', default=['public']),
        reference_max_rows=dict(type='int', default=100000),
        overrides=dict(type='dict', default={}),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if p['reference_max_rows'] < 0:
        module.fail_json(msg='reference_max_rows must be zero or more')
    for name, override in p['overrides'].items():
        if not isinstance(override, dict) or override.get('type', 'hash') not in ('hash', 'reference', 'local') or (
                override.get('type', 'hash') == 'hash' and not override.get('distribution_column')):
            module.fail_json(msg='overrides[%s] must be a dict with type hash (and distribution_column), reference or '
                                 'local' % name)

    def body(session):
        rows = session.execute(_migration.SQL_TABLES, (p['schemas'],), record=False)
        tables = [dict(name='%s.%s' % (r[0], r[1]), rows=int(r[3]), primary_key=list(r[4] or []),
                       columns=list(r[5] or [])) for r in rows]
        if not tables:
            raise ModuleFailure('no table in schemas %s of database %s' % (', '.join(p['schemas']), p['login_db']))
        unknown = sorted(set(p['overrides']) - set(t['name'] for t in tables))
        if unknown:
            raise ModuleFailure('overrides name tables that are not in those schemas: %s' % ', '.join(unknown))
        fks = [(r[0], r[1], list(r[2] or []))
               for r in session.execute(_migration.SQL_FOREIGN_KEYS, (p['schemas'],), record=False)]
        return dict(changed=False, **_migration.propose(tables, fks, p['reference_max_rows'], p['overrides']))

    run_module(module, body)


if __name__ == '__main__':
    main()
