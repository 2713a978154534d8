#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: citus_info
short_description: Report Citus nodes, tables, shard placements per node and their skew
version_added: 0.1.0
description:
  - Reads pg_dist_node, pg_dist_partition, pg_dist_colocation and pg_dist_placement on the coordinator.
  - With O(sizes=true) it also sums shard sizes per node with C(citus_shard_sizes()), which connects to every
    worker; without it only catalogs are read.
  - Never changes anything.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
  - dpg.cluster.attributes.read_only
options:
  sizes:
    description:
      - Also report bytes per node and their skew (connects to every worker).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Shards per node and skew
  dpg.cluster.citus_info:
    login_db: citus
  register: citus

- name: Show the skew
  ansible.builtin.debug:
    msg: "{{ citus.shards_per_node }} skew {{ citus.shard_skew_pct }} %"
'''

RETURN = r'''
version:
  description: Version of the citus extension.
  returned: always
  type: str
  sample: "13.2-1"
nodes:
  description: pg_dist_node rows.
  returned: always
  type: list
  elements: dict
  sample: [{nodeid: 1, groupid: 0, nodename: coord1, nodeport: 5432, isactive: true, noderole: primary}]
tables:
  description: Tables in Citus metadata with their kind (hash, reference, local, single_shard).
  returned: always
  type: list
  elements: dict
  sample: [{name: distributed.users, type: hash, distribution_column: user_id, shard_count: 32, colocationid: 2}]
shards_per_node:
  description: Shard placements per primary node, as host:port to count (the coordinator included).
  returned: always
  type: dict
  sample: {"coord1:5432": 2, "w1a:5432": 33, "w2a:5432": 33}
shard_skew_pct:
  description: (max - mean) / mean of placements over worker primaries that should hold shards, in percent.
  returned: always
  type: float
  sample: 0.0
bytes_per_node:
  description: Bytes of shard data per node (O(sizes=true) only).
  returned: when sizes is true
  type: dict
bytes_skew_pct:
  description: Skew of RV(bytes_per_node) over worker primaries, in percent.
  returned: when sizes is true
  type: float
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _citus
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import POSTGRES_ARGSPEC, run_module

SQL_BYTES_PER_NODE = (
    "SELECT n.nodename || ':' || n.nodeport, coalesce(sum(sz.size), 0)::bigint "
    "FROM pg_catalog.citus_shard_sizes() sz "
    "JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = sz.shard_id "
    "JOIN pg_catalog.pg_dist_node n ON n.groupid = pl.groupid AND n.noderole = 'primary' "
    "GROUP BY 1 ORDER BY 1")


def collect(catalog, session, sizes):
    """Everything citus_info returns, as a dict."""
    catalog.require_coordinator(writable=False)
    nodes = catalog.nodes()
    per_node = catalog.placements_per_node()
    workers = ['%s:%s' % (n['nodename'], n['nodeport']) for n in nodes
               if n['groupid'] != 0 and n['noderole'] == 'primary' and n['shouldhaveshards'] and n['isactive']]
    result = dict(version=catalog.citus_version(), nodes=nodes, tables=catalog.tables(), shards_per_node=per_node,
                  shard_skew_pct=_citus.skew(dict((k, per_node.get(k, 0)) for k in workers)))
    if sizes:
        per_bytes = dict((r[0], int(r[1])) for r in session.execute(SQL_BYTES_PER_NODE))
        result['bytes_per_node'] = per_bytes
        result['bytes_skew_pct'] = _citus.skew(dict((k, per_bytes.get(k, 0)) for k in workers))
    return result


def main():
    argument_spec = dict(sizes=dict(type='bool', default=False))
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, lambda session: dict(changed=False, **collect(_citus.Catalog(session), session,
                                                                     module.params['sizes'])))


if __name__ == '__main__':
    main()
