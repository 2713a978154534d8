#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: patroni_cluster
short_description: Read, wait for, switch over, pause and configure a Patroni cluster
version_added: 0.1.0
description:
  - Talks to one member's Patroni REST API (any member answers for its whole group).
  - O(operation=info) reads members, roles, lag, timeline and pending restarts and never changes anything.
  - O(operation=wait) waits until there is a running leader and O(replicas) replicas streaming within O(max_lag).
  - O(operation=switchover) hands the leader role to O(candidate) (or to any healthy replica) and waits until
    the new leader runs; it reports no change when O(candidate) already leads.
  - O(operation=failover) promotes O(candidate), also when the leader is gone.
  - O(operation=pause) and O(operation=resume) switch Patroni's maintenance mode, changing only when needed.
  - O(operation=configure) deep-merges O(config) into the dynamic configuration (PATCH /config), sending only
    the keys that differ, with a diff.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.patroni
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_patroni
attributes:
  check_mode:
    support: full
    details: No request other than GET is sent in check mode; the result says what would change.
  diff_mode:
    support: full
    details: Shows the leader, the pause state or the dynamic configuration before and after.
options:
  operation:
    description:
      - What to do.
    type: str
    choices: [info, wait, switchover, failover, pause, resume, configure]
    default: info
  replicas:
    description:
      - With O(operation=wait), the number of replicas that must be streaming.
      - Default is every member but the leader.
    type: int
  max_lag:
    description:
      - With O(operation=wait), the largest replication lag in bytes a replica may have to count as healthy.
    type: int
    default: 16777216
  wait_timeout:
    description:
      - Seconds to wait, for O(operation=wait) and for the new leader after a switchover or failover.
    type: int
    default: 300
  leader:
    description:
      - With O(operation=switchover), the member expected to lead now. The switchover is refused when
        another member leads. Default is the current leader.
    type: str
  candidate:
    description:
      - The member to promote. Required for O(operation=failover).
      - With O(operation=switchover), optional; when omitted Patroni picks a healthy replica and the task
        always reports a change.
    type: str
  scheduled_at:
    description:
      - With O(operation=switchover), an ISO 8601 timestamp with time zone to schedule it for, instead of now.
    type: str
  config:
    description:
      - With O(operation=configure), the dynamic configuration wanted, as nested dicts
        (for example C(ttl), C(loop_wait), C(synchronous_mode), C(postgresql.parameters)).
      - Keys not named are left alone; a key set to null is removed.
    type: dict
notes:
  - Patroni's REST API asks for credentials only on unsafe requests; O(api_username) and O(api_password)
    (or the C(ctl.authentication) / C(restapi.authentication) of O(config_file)) are needed for every operation
    except O(operation=info) and O(operation=wait).
  - With O(config_file) the module reads Patroni's configuration on the managed host, so the task runs on a
    Patroni member with become; the password read from it is masked in the results.
seealso:
  - name: Patroni REST API
    description: Endpoints and answers this module relies on.
    link: https://patroni.readthedocs.io/en/latest/rest_api.html
'''

EXAMPLES = r'''
- name: Read the cluster as patronictl does, with the member's URL, TLS files and credentials
  dpg.cluster.patroni_cluster:
    config_file: /etc/patroni/config.yml
    operation: info
  become: true

- name: Pause and resume the cluster from one member, the REST API options set once for the group
  module_defaults:
    group/dpg.cluster.patroni:
      config_file: /etc/patroni/config.yml
  become: true
  run_once: true
  block:
    - name: Pause Patroni (maintenance mode)
      dpg.cluster.patroni_cluster:
        operation: pause

    - name: Resume Patroni
      dpg.cluster.patroni_cluster:
        operation: resume

- name: Wait for a leader and two streaming replicas
  dpg.cluster.patroni_cluster:
    api_url: http://pg1:8008
    operation: wait
    replicas: 2
    wait_timeout: 120

- name: Switch over to pg2
  dpg.cluster.patroni_cluster:
    api_url: http://pg1:8008
    api_username: patroni
    api_password: "{{ patroni_restapi_password }}"
    operation: switchover
    candidate: pg2

- name: Turn on synchronous replication and raise max_connections
  dpg.cluster.patroni_cluster:
    api_username: patroni
    api_password: "{{ patroni_restapi_password }}"
    operation: configure
    config:
      synchronous_mode: true
      postgresql:
        parameters:
          max_connections: 300
'''

RETURN = r'''
leader:
  description: Name of the member leading after the operation (None when there is none).
  returned: always
  type: str
  sample: pg1
timeline:
  description: Timeline of the leader.
  returned: always
  type: int
  sample: 3
paused:
  description: Whether the cluster is in maintenance mode after the operation.
  returned: always
  type: bool
members:
  description: Every member of the group.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Member name.
      type: str
    role:
      description: leader, standby_leader, sync_standby, quorum_standby or replica.
      type: str
    state:
      description: running, streaming, starting, stopped, ...
      type: str
    host:
      description: PostgreSQL host of the member.
      type: str
    port:
      description: PostgreSQL port of the member.
      type: int
    timeline:
      description: Timeline the member is on.
      type: int
    lag_bytes:
      description: Replication lag in bytes (0 for the leader, None when unknown).
      type: int
    pending_restart:
      description: Whether PostgreSQL has settings waiting for a restart.
      type: bool
    tags:
      description: Patroni tags of the member.
      type: dict
  sample: [{name: pg1, role: leader, state: running, lag_bytes: 0, pending_restart: false}]
pending_restart:
  description: Names of members with settings waiting for a restart.
  returned: always
  type: list
  elements: str
problems:
  description: What keeps the cluster from being healthy (empty when healthy).
  returned: always
  type: list
  elements: str
config:
  description: The dynamic configuration after the operation.
  returned: when operation is configure
  type: dict
patch:
  description: The keys sent (or that would be sent in check mode) with PATCH /config.
  returned: when operation is configure
  type: dict
  sample: {ttl: 20, postgresql: {parameters: {max_connections: 300}}}
requests:
  description: REST requests sent, as "METHOD /path".
  returned: always
  type: list
  elements: str
  sample: [GET /cluster, POST /switchover]
elapsed:
  description: Seconds the operation took, including waiting for the new leader.
  returned: always
  type: float
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils._patroni import (
    PATRONI_API_ARGSPEC, PatroniClient, PatroniError, config_patch, deep_merge,
    health_problems, normalize_cluster)

POLL_SECONDS = 1.0


def _summary(client):
    return normalize_cluster(client.cluster())


def _wait_for(client, predicate, timeout):
    """Poll GET /cluster until predicate(summary) is true; return (summary, ok)."""
    deadline = time.time() + timeout
    summary = None
    while True:
        try:
            summary = _summary(client)
            if predicate(summary):
                return summary, True
        except PatroniError:
            # a member may refuse connections for a moment during a role change
            pass
        if time.time() >= deadline:
            return summary, False
        time.sleep(POLL_SECONDS)


def run(module, client):
    """Carry out module.params['operation']; return the result dict (changed, diff, ...)."""
    p = module.params
    op = p['operation']
    started = time.time()
    result = dict(changed=False)
    if op == 'wait':
        summary = None  # the REST API may not answer yet; _wait_for retries
    else:
        summary = _summary(client)

    if op == 'wait':
        summary, ok = _wait_for(
            client, lambda s: not health_problems(s, p['replicas'], p['max_lag']), p['wait_timeout'])
        if not ok:
            problems = health_problems(summary or normalize_cluster({}), p['replicas'], p['max_lag'])
            module.fail_json(msg='cluster not healthy after %ss: %s' % (p['wait_timeout'], '; '.join(problems)),
                             requests=client.requests, **_report(summary or normalize_cluster({})))

    elif op in ('switchover', 'failover'):
        names = [m['name'] for m in summary['members']]
        cand = p['candidate']
        if cand is not None and cand not in names:
            module.fail_json(msg='candidate %r is not a member of this cluster; members are %s'
                             % (cand, ', '.join(names)), requests=client.requests)
        if op == 'switchover' and p['leader'] and summary['leader'] not in (p['leader'], cand):
            module.fail_json(msg='leader is %s, not %s as the task expects; refusing to switch over'
                             % (summary['leader'], p['leader']), requests=client.requests)
        if cand is not None and summary['leader'] == cand:
            pass  # already where the task wants it
        else:
            if op == 'switchover' and not summary['leader']:
                module.fail_json(msg='there is no leader to switch over from; use operation=failover '
                                     'with a candidate', requests=client.requests)
            before = summary['leader']
            result['changed'] = True
            result['diff'] = dict(before=dict(leader=before), after=dict(leader=cand or '(a healthy replica)'))
            if not module.check_mode:
                body = {}
                if op == 'switchover':
                    body['leader'] = before
                if cand:
                    body['candidate'] = cand
                if p['scheduled_at']:
                    body['scheduled_at'] = p['scheduled_at']
                try:
                    # Patroni answers an immediate switchover or failover once the new leader runs, which
                    # takes a few loop_waits: this request may take up to wait_timeout, not api_timeout.
                    client.request('POST', '/' + op, body, ok=(200, 202),
                                   timeout=max(p['api_timeout'], p['wait_timeout']))
                except PatroniError as e:
                    module.fail_json(msg='%s refused: %s' % (op, e), requests=client.requests)
                if not p['scheduled_at']:
                    def done(s):
                        return (s['leader'] and s['leader'] != before or (cand and s['leader'] == cand)) \
                            and not [m for m in s['members'] if m['name'] == s['leader'] and m['state'] != 'running']
                    summary, ok = _wait_for(client, done, p['wait_timeout'])
                    if not ok:
                        module.fail_json(msg='no new leader running %ss after the %s' % (p['wait_timeout'], op),
                                         requests=client.requests, **_report(summary or normalize_cluster({})))

    elif op in ('pause', 'resume'):
        want = op == 'pause'
        if summary['paused'] != want:
            result['changed'] = True
            result['diff'] = dict(before=dict(pause=summary['paused']), after=dict(pause=want))
            if not module.check_mode:
                client.request('PATCH', '/config', {'pause': want})
                summary, ok = _wait_for(client, lambda s: s['paused'] == want, 30)

    elif op == 'configure':
        if not p['config']:
            module.fail_json(msg='operation=configure needs config: a dict of the dynamic settings to keep, '
                                 'for example {ttl: 30}')
        current = client.config()
        patch = config_patch(current, p['config'])
        result['patch'] = patch
        after = deep_merge(current, patch)
        result['config'] = after
        if patch:
            result['changed'] = True
            result['diff'] = dict(before=current, after=after)
            if not module.check_mode:
                try:
                    _status, result['config'] = client.request('PATCH', '/config', patch)
                except PatroniError as e:
                    module.fail_json(msg='PATCH /config refused: %s' % e, requests=client.requests)
                summary = _summary(client)

    result.update(_report(summary))
    if op in ('info', 'wait'):
        result['problems'] = health_problems(summary, p['replicas'], p['max_lag'] if op == 'wait' else None)
    result['requests'] = client.requests
    result['elapsed'] = round(time.time() - started, 3)
    return result


def _report(summary):
    return dict(leader=summary['leader'], timeline=summary['timeline'], paused=summary['paused'],
                members=summary['members'],
                pending_restart=[m['name'] for m in summary['members'] if m['pending_restart']],
                problems=health_problems(summary))


def main():
    argument_spec = dict(
        operation=dict(type='str', default='info',
                       choices=['info', 'wait', 'switchover', 'failover', 'pause', 'resume', 'configure']),
        replicas=dict(type='int'),
        max_lag=dict(type='int', default=16777216),
        wait_timeout=dict(type='int', default=300),
        leader=dict(type='str'),
        candidate=dict(type='str'),
        scheduled_at=dict(type='str'),
        config=dict(type='dict'),
    )
    argument_spec.update(PATRONI_API_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[('operation', 'failover', ['candidate'])],
    )
    p = module.params
    for name in ('replicas', 'max_lag', 'wait_timeout', 'api_timeout'):
        if p[name] is not None and p[name] < 0:
            module.fail_json(msg='%s must be zero or more, got %s' % (name, p[name]))
    changes = p['operation'] in ('switchover', 'failover', 'pause', 'resume', 'configure') and not module.check_mode
    if changes and not (p['api_username'] and p['api_password']) and not p['config_file']:
        module.fail_json(msg='operation=%s changes the cluster: set api_username and api_password '
                             '(Patroni restapi.authentication), or config_file' % p['operation'])
    try:
        client = PatroniClient.from_module(module)
    except PatroniError as e:
        module.fail_json(msg=str(e), requests=[], status=None)
    if changes and not (client.username and client.password):
        module.fail_json(msg='operation=%s changes the cluster, and %s has no username and password in '
                             'ctl.authentication or restapi.authentication: add them there, or set api_username '
                             'and api_password' % (p['operation'], p['config_file']))
    try:
        module.exit_json(**run(module, client))
    except PatroniError as e:
        module.fail_json(msg=str(e), requests=client.requests, status=e.status)


if __name__ == '__main__':
    main()
