#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: citus_node
short_description: Reconcile one node in Citus' pg_dist_node (add, activate, disable, drain, remove)
version_added: 0.1.0
description:
  - Runs on the coordinator and brings one worker node to the wanted state.
  - Under Patroni (O(patroni_managed=true), the default) the coordinator's Patroni registers every worker group's
    primary itself; the module then never adds a primary, it verifies, drains and removes. Set
    O(patroni_managed=false) for a plain coordinator and workers without Patroni.
  - V(absent) drains the node first (unless O(drain=false)) and refuses to remove a node that still holds shard
    placements.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details: Reports the statements that would run; runs none.
  diff_mode:
    support: full
    details: The node's row (isactive, shouldhaveshards, placements) before and after.
options:
  node_name:
    description:
      - Host name of the node as the coordinator reaches it (pg_dist_node.nodename).
    type: str
    required: true
  node_port:
    description:
      - PostgreSQL port of the node.
    type: int
    default: 5432
  state:
    description:
      - V(present) the node is in pg_dist_node; V(active) present and active; V(inactive) present and disabled;
        V(drained) holds no shard of a distributed table and gets none (reference tables keep their copy on
        every node); V(absent) not in pg_dist_node.
    type: str
    choices: [present, active, inactive, drained, absent]
    default: present
  group_id:
    description:
      - Group of the node when the module adds it (Citus group = Patroni citus group). Default lets Citus pick.
    type: int
  node_role:
    description:
      - Role of the node when the module adds it.
    type: str
    choices: [primary, secondary]
    default: primary
  patroni_managed:
    description:
      - Patroni registers primaries; the module must not add them.
    type: bool
    default: true
  drain:
    description:
      - With V(absent), move the node's shards away first.
    type: bool
    default: true
  shard_transfer_mode:
    description:
      - How drains move shards (C(auto), C(force_logical), C(block_writes)).
    type: str
    choices: [auto, force_logical, block_writes]
    default: auto
  rebalance_strategy:
    description:
      - Rebalance strategy for drains (for example C(by_shard_count), C(by_disk_size)). Default is Citus' default.
    type: str
  synchronous:
    description:
      - With V(inactive), disable synchronously (Citus needs it for the first worker).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Drain a worker group's primary before retiring the group
  dpg.cluster.citus_node:
    login_db: citus
    node_name: dpg-w2a
    state: drained

- name: Register a worker on a plain coordinator (no Patroni)
  dpg.cluster.citus_node:
    login_db: citus
    node_name: worker3
    state: active
    patroni_managed: false
'''

RETURN = r'''
node:
  description: The node's pg_dist_node row after the task, with the number of distributed-table shard placements
    on it (reference tables not counted; None when absent).
  returned: always
  type: dict
  sample: {nodename: dpg-w1a, nodeport: 5432, groupid: 1, isactive: true, shouldhaveshards: true, placements: 34}
queries:
  description: Statements run (in check mode, that would run).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _citus
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import POSTGRES_ARGSPEC, run_module, run_statements

DRAIN = ('SELECT pg_catalog.citus_drain_node(%s, %s, shard_transfer_mode => %s::citus.shard_transfer_mode, '
         'rebalance_strategy => %s)')


def _row(catalog, name, port):
    node = catalog.node(name, port)
    if node is not None:
        node['placements'] = catalog.node_placements(name, port)
    return node


def plan(p, catalog):
    """(node row before, list of (sql, args)). Raises _citus.CitusError for states it must not reach."""
    catalog.require_coordinator()
    name, port, state = p['node_name'], p['node_port'], p['state']
    node = _row(catalog, name, port)
    steps = []
    if state in ('present', 'active'):
        if node is None:
            if p['patroni_managed'] and p['node_role'] == 'primary':
                raise _citus.CitusError(
                    '%s:%s is not in pg_dist_node. Under Patroni the coordinator registers each worker group\'s '
                    'primary itself: check that the node runs Patroni with citus.group set and reaches the '
                    'coordinator, or set patroni_managed: false for a cluster without Patroni' % (name, port))
            steps.append(('SELECT pg_catalog.citus_add_node(%s, %s, groupid => %s, noderole => %s::noderole)',
                          (name, port, p['group_id'] if p['group_id'] is not None else -1, p['node_role'])))
        elif state == 'active' and not node['isactive']:
            steps.append(('SELECT pg_catalog.citus_activate_node(%s, %s)', (name, port)))
    elif state == 'inactive':
        if node is None:
            raise _citus.CitusError('%s:%s is not in pg_dist_node; nothing to disable' % (name, port))
        if node['isactive']:
            steps.append(('SELECT pg_catalog.citus_disable_node(%s, %s, synchronous => %s)', (name, port, p['synchronous'])))
    elif state == 'drained':
        if node is None:
            raise _citus.CitusError('%s:%s is not in pg_dist_node; nothing to drain' % (name, port))
        if node['shouldhaveshards'] or node['placements']:
            steps.append((DRAIN, (name, port, p['shard_transfer_mode'], p['rebalance_strategy'])))
    elif state == 'absent' and node is not None:
        if node['placements'] and not p['drain']:
            raise _citus.CitusError('%s:%s holds %d shard placements: drain it first (drain: true or state: drained)'
                                    % (name, port, node['placements']))
        if node['placements']:
            steps.append((DRAIN, (name, port, p['shard_transfer_mode'], p['rebalance_strategy'])))
        steps.append(('SELECT pg_catalog.citus_remove_node(%s, %s)', (name, port)))
    return node, steps


def main():
    argument_spec = dict(
        node_name=dict(type='str', required=True),
        node_port=dict(type='int', default=5432),
        state=dict(type='str', default='present', choices=['present', 'active', 'inactive', 'drained', 'absent']),
        group_id=dict(type='int'),
        node_role=dict(type='str', default='primary', choices=['primary', 'secondary']),
        patroni_managed=dict(type='bool', default=True),
        drain=dict(type='bool', default=True),
        shard_transfer_mode=dict(type='str', default='auto', choices=['auto', 'force_logical', 'block_writes']),
        rebalance_strategy=dict(type='str'),
        synchronous=dict(type='bool', default=False),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not 1 <= p['node_port'] <= 65535:
        module.fail_json(msg='node_port must be 1-65535, got %s' % p['node_port'])

    def body(session):
        catalog = _citus.Catalog(session)
        before, steps = plan(p, catalog)
        run_statements(module, session, steps)
        after = before if module.check_mode else _row(catalog, p['node_name'], p['node_port'])
        result = dict(changed=bool(steps), node=after)
        if steps:
            result['diff'] = dict(before=before or {}, after=after or {})
        return result

    run_module(module, body)


if __name__ == '__main__':
    main()
