#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: citus_rebalance
short_description: Plan, run and wait for a Citus shard rebalance
version_added: 0.1.0
description:
  - Asks C(get_rebalance_table_shards_plan()) for the moves. No move means balanced, and nothing changes.
  - Otherwise starts a background rebalance with C(citus_rebalance_start()), polls C(citus_rebalance_status())
    until it finishes, and returns the moves with the shard placements per node and their skew before and after.
  - In check mode returns the planned moves and runs nothing.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details: Returns the plan only.
  diff_mode:
    support: full
    details: Shard placements per node before and after.
options:
  strategy:
    description:
      - Rebalance strategy (C(by_shard_count), C(by_disk_size) or one added with C(citus_add_rebalance_strategy)).
        Default is Citus' default strategy (by_disk_size).
    type: str
  drain_only:
    description:
      - Only move shards off nodes with shouldhaveshards=false.
    type: bool
    default: false
  shard_transfer_mode:
    description:
      - How shards move.
    type: str
    choices: [auto, force_logical, block_writes]
    default: auto
  wait:
    description:
      - Wait for the rebalance to end. Without it the job id is returned at once.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the rebalance.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between status checks while waiting.
    type: int
    default: 2
'''

EXAMPLES = r'''
- name: Show the planned moves
  dpg.cluster.citus_rebalance:
    login_db: citus
    strategy: by_shard_count
  check_mode: true
  register: plan

- name: Rebalance by shard count and wait
  dpg.cluster.citus_rebalance:
    login_db: citus
    strategy: by_shard_count
'''

RETURN = r'''
plan:
  description: Planned moves (table, shardid, shard_size, source, target).
  returned: always
  type: list
  elements: dict
  sample: [{table_name: distributed.users, shardid: 102008, shard_size: 0, source: "w1a:5432", target: "w3a:5432"}]
job_id:
  description: Background job of the rebalance (None when nothing moved).
  returned: always
  type: int
state:
  description: Final state of the job (finished, failed, cancelled, running when not waited for).
  returned: always
  type: str
shards_per_node_before:
  description: Placements per node before.
  returned: always
  type: dict
shards_per_node_after:
  description: Placements per node after.
  returned: always
  type: dict
skew_before_pct:
  description: Placement skew over worker primaries before, percent.
  returned: always
  type: float
skew_after_pct:
  description: Placement skew over worker primaries after, percent.
  returned: always
  type: float
elapsed:
  description: Seconds the rebalance took.
  returned: always
  type: float
queries:
  description: Statements run (in check mode, that would run).
  returned: always
  type: list
  elements: str
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _citus
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import POSTGRES_ARGSPEC, ModuleFailure, run_module

SQL_PLAN = ("SELECT table_name::text, shardid, shard_size, sourcename, sourceport, targetname, targetport "
            "FROM pg_catalog.get_rebalance_table_shards_plan(rebalance_strategy => %s, drain_only => %s)")
SQL_START = ("SELECT pg_catalog.citus_rebalance_start(rebalance_strategy => %s, drain_only => %s, "
             "shard_transfer_mode => %s::citus.shard_transfer_mode)")
SQL_STATUS = "SELECT job_id, state::text, details::text FROM pg_catalog.citus_rebalance_status()"
DONE = ('finished', 'failed', 'cancelled')


def worker_skew(catalog, per_node):
    """Skew over active worker primaries that should hold shards."""
    workers = ['%s:%s' % (n['nodename'], n['nodeport']) for n in catalog.nodes()
               if n['groupid'] != 0 and n['noderole'] == 'primary' and n['shouldhaveshards'] and n['isactive']]
    return _citus.skew(dict((k, per_node.get(k, 0)) for k in workers))


def rebalance(module, session):
    """Plan, start and (with wait) follow one rebalance job; the module's result dict.

    :raises ModuleFailure: a job already running, a job that failed, was cancelled or outlived
        wait_timeout (seconds); server errors propagate to the frame.
    """
    p = module.params
    catalog = _citus.Catalog(session)
    catalog.require_coordinator()
    started = time.time()
    before = catalog.placements_per_node()
    result = dict(changed=False, job_id=None, state=None, shards_per_node_before=before, shards_per_node_after=before,
                  skew_before_pct=worker_skew(catalog, before))
    running = [r for r in session.execute(SQL_STATUS, record=False) if r[1] not in DONE]
    if running:
        raise ModuleFailure('rebalance job %s is already %s: wait for it (SELECT citus_rebalance_wait()) or '
                            'cancel it (citus_rebalance_stop()) first' % (running[0][0], running[0][1]))
    rows = session.execute(SQL_PLAN, (p['strategy'], p['drain_only']))
    result['plan'] = [dict(table_name=r[0], shardid=r[1], shard_size=r[2], source='%s:%s' % (r[3], r[4]),
                           target='%s:%s' % (r[5], r[6])) for r in rows]
    if result['plan']:
        result['changed'] = True
        args = (p['strategy'], p['drain_only'], p['shard_transfer_mode'])
        if module.check_mode:
            session.queries.append(session.render(SQL_START, args))
        else:
            result['job_id'] = session.execute(SQL_START, args)[0][0]
            result['state'] = 'scheduled'
            deadline = time.time() + p['wait_timeout']
            while p['wait'] and result['job_id'] is not None:
                status = [r for r in session.execute(SQL_STATUS, record=False) if r[0] == result['job_id']]
                result['state'] = status[0][1] if status else 'finished'
                if result['state'] in DONE:
                    break
                if time.time() > deadline:
                    raise ModuleFailure('rebalance job %s still %s after %ss'
                                        % (result['job_id'], result['state'], p['wait_timeout']), **result)
                time.sleep(p['poll_interval'])
            if result['state'] in ('failed', 'cancelled'):
                raise ModuleFailure('rebalance job %s %s; see citus_rebalance_status()'
                                    % (result['job_id'], result['state']))
            result['shards_per_node_after'] = catalog.placements_per_node()
    result['skew_after_pct'] = worker_skew(catalog, result['shards_per_node_after']) if not module.check_mode \
        else result['skew_before_pct']
    if result['changed']:
        result['diff'] = dict(before=before, after=result['shards_per_node_after'])
    result['elapsed'] = round(time.time() - started, 3)
    return result


def main():
    argument_spec = dict(
        strategy=dict(type='str'),
        drain_only=dict(type='bool', default=False),
        shard_transfer_mode=dict(type='str', default='auto', choices=['auto', 'force_logical', 'block_writes']),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=3600),
        poll_interval=dict(type='int', default=2),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if p['wait_timeout'] <= 0 or p['poll_interval'] <= 0:
        module.fail_json(msg='wait_timeout and poll_interval must be positive seconds')
    run_module(module, lambda session: rebalance(module, session))


if __name__ == '__main__':
    main()
