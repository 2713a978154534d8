#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pg_tune
short_description: Compute PostgreSQL settings from the host's resources
version_added: 0.1.0
description:
  - Computes settings with PGTune's formulas from memory, CPUs, storage, workload profile, connections
    and PostgreSQL version, and returns each value with the reason for it.
  - Memory is the cgroup limit when one is set and lower than the host's memory (containers), not the host's.
  - Only computes; it changes nothing. Apply the result with M(dpg.cluster.patroni_cluster) (O(dpg.cluster.patroni_cluster#module:operation=configure),
    the whole Patroni cluster) or M(community.postgresql.postgresql_alter_system) (one server), as
    C(playbooks/tuning.yml) does; both compare values with units normalised (C(4GB) = C(4096MB)).
  - Returns which settings take effect only after a PostgreSQL restart.
  - Never emits C(wal_level=minimal) or C(max_wal_senders=0) (PGTune's desktop type), which would break replication.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
  - dpg.cluster.attributes.actiongroup_postgres
  - dpg.cluster.attributes.read_only
options:
  memory_mb:
    description:
      - Memory PostgreSQL may use, in MiB. Default is read on the host, the smaller of /proc/meminfo's MemTotal
        and the cgroup limit (memory.max on cgroup v2, memory.limit_in_bytes on v1).
    type: int
  cpus:
    description:
      - CPUs PostgreSQL may use. Default is the cgroup CPU quota (cpu.max) when set, else the host's CPU count.
    type: int
  storage:
    description:
      - Kind of storage of the data directory.
    type: str
    choices: [hdd, ssd, san, nvme]
    default: ssd
  profile:
    description:
      - Workload profile. PGTune's types, or the seeds' modes C(read-heavy) (web) and C(write-heavy) (oltp).
      - C(auto) reads pg_stat_database through the login options (the only case in which the module connects)
        and picks oltp, web or mixed from the share of written rows.
    type: str
    choices: [web, oltp, dw, desktop, mixed, read-heavy, write-heavy, auto]
    default: mixed
  max_connections:
    description:
      - Server connections. Behind PgBouncer this is the pool size plus headroom, not the client count.
      - Default is PGTune's default for the profile.
    type: int
  postgresql_version:
    description:
      - PostgreSQL major version.
    type: int
    default: 17
  overrides:
    description:
      - Settings to use instead of the computed ones (name to value). Their reason says "override".
    type: dict
    default: {}
  exclude:
    description:
      - Names of computed settings to leave out.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Compute write-heavy settings, 150 server connections behind PgBouncer
  dpg.cluster.pg_tune:
    profile: write-heavy
    max_connections: 150
  register: tune

- name: Keep them in the Patroni cluster's dynamic configuration
  dpg.cluster.patroni_cluster:
    operation: configure
    config:
      postgresql:
        parameters: "{{ tune.settings }}"
    api_username: patroni
    api_password: "{{ patroni_restapi_password }}"
  run_once: true

- name: Or write them into one server's postgresql.auto.conf
  community.postgresql.postgresql_alter_system:
    param: "{{ item.key }}"
    value: "{{ item.value }}"
  loop: "{{ tune.settings | dict2items }}"
  become: true
  become_user: postgres
'''

RETURN = r'''
settings:
  description: Computed settings, name to value as PostgreSQL writes it.
  returned: always
  type: dict
  sample: {shared_buffers: 4GB, work_mem: 20560kB, max_connections: "200"}
reasons:
  description: Why each setting has its value.
  returned: always
  type: dict
  sample: {shared_buffers: 1/4 of 16GB memory}
profile:
  description: The PGTune type used (after resolving aliases and auto).
  returned: always
  type: str
  sample: web
profile_reason:
  description: Why that type, when O(profile=auto).
  returned: always
  type: str
memory_mb:
  description: Memory used for the computation, MiB.
  returned: always
  type: int
memory_source:
  description: Where the memory figure came from, C(given), C(cgroup) or C(meminfo).
  returned: always
  type: str
cpus:
  description: CPUs used for the computation.
  returned: always
  type: int
restart_required:
  description: Names among RV(settings) that take effect only after a PostgreSQL restart (postmaster context).
  returned: always
  type: list
  elements: str
  sample: [shared_buffers, max_connections]
queries:
  description: SQL run (only with O(profile=auto)).
  returned: always
  type: list
  elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _tune
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import POSTGRES_ARGSPEC, ModuleFailure, run_module


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def detect_memory_kb():
    """(kB, source) from /proc/meminfo and the cgroup v2 or v1 memory limit."""
    meminfo = _read('/proc/meminfo')
    meminfo_kb = _tune.parse_meminfo_kb(meminfo) if meminfo else None
    cgroup_kb = None
    for path in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'):
        text = _read(path)
        if text is not None:
            cgroup_kb = _tune.parse_cgroup_limit_kb(text)
            break
    return _tune.effective_memory_kb(meminfo_kb, cgroup_kb)


def detect_cpus():
    """CPUs from the cgroup v2 quota (cpu.max 'quota period'), else the affinity mask."""
    text = _read('/sys/fs/cgroup/cpu.max')
    if text:
        parts = text.split()
        if len(parts) == 2 and parts[0] != 'max':
            return max(1, int(-(-int(parts[0]) // int(parts[1]))))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


SQL_WRITE_STATS = ('SELECT coalesce(sum(tup_fetched), 0), coalesce(sum(tup_inserted), 0), '
                   'coalesce(sum(tup_updated), 0), coalesce(sum(tup_deleted), 0) FROM pg_catalog.pg_stat_database')


def tune(p, session):
    """The module's result for params ``p``; ``session`` is None unless profile is auto.

    :raises ModuleFailure: memory that cannot be read, or PGTune refusing the inputs.
    """
    if p['memory_mb']:
        memory_kb, memory_source = p['memory_mb'] * 1024, 'given'
    else:
        try:
            memory_kb, memory_source = detect_memory_kb()
        except ValueError as e:
            raise ModuleFailure(str(e))
    cpus = p['cpus'] or detect_cpus()
    profile_reason = 'given'
    if p['profile'] == 'auto':
        rows = session.execute(SQL_WRITE_STATS)
        stats = dict(zip(('tup_fetched', 'tup_inserted', 'tup_updated', 'tup_deleted'), rows[0]))
        db_type, profile_reason = _tune.choose_profile(stats)
    else:
        db_type = _tune.resolve_profile(p['profile'])
    try:
        computed = _tune.compute(memory_kb, cpus, db_type, p['storage'], p['max_connections'], p['postgresql_version'])
    except ValueError as e:
        raise ModuleFailure(str(e))
    for name in p['exclude']:
        computed.pop(name, None)
    for name, value in p['overrides'].items():
        computed[name] = (str(value), 'override')
    settings = dict((k, v[0]) for k, v in computed.items())
    return dict(changed=False, settings=settings, reasons=dict((k, v[1]) for k, v in computed.items()),
                profile=db_type, profile_reason=profile_reason, memory_mb=memory_kb // 1024,
                memory_source=memory_source, cpus=cpus,
                restart_required=sorted(k for k in settings if k in _tune.RESTART_SETTINGS))


def main():
    argument_spec = dict(
        memory_mb=dict(type='int'),
        cpus=dict(type='int'),
        storage=dict(type='str', default='ssd', choices=list(_tune.STORAGE_TYPES)),
        profile=dict(type='str', default='mixed',
                     choices=list(_tune.DB_TYPES) + ['read-heavy', 'write-heavy', 'auto']),
        max_connections=dict(type='int'),
        postgresql_version=dict(type='int', default=17),
        overrides=dict(type='dict', default={}),
        exclude=dict(type='list', elements='str', default=[]),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    for name in ('memory_mb', 'cpus', 'max_connections'):
        if p[name] is not None and p[name] <= 0:
            module.fail_json(msg='%s must be a positive integer, got %s' % (name, p[name]))
    if p['postgresql_version'] < 10:
        module.fail_json(msg='postgresql_version %s is not supported: use 10 or newer' % p['postgresql_version'])
    run_module(module, lambda session: tune(p, session), connect=p['profile'] == 'auto')


if __name__ == '__main__':
    main()
