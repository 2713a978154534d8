#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pg_tune
short_description: Compute PostgreSQL settings from the host's resources and apply them
version_added: 0.1.0
description:
  - Computes settings with PGTune's formulas from memory, CPUs, storage, workload profile, connections
    and PostgreSQL version, and returns each value with the reason for it.
  - Memory is the cgroup limit when one is set and lower than the host's memory (containers), not the host's.
  - With O(apply=patroni) the settings go into Patroni's dynamic configuration (PATCH /config) for the whole
    cluster; with O(apply=alter_system) they go into postgresql.auto.conf with ALTER SYSTEM followed by a reload.
  - Returns the settings that changed and need a PostgreSQL restart to take effect.
  - Never emits C(wal_level=minimal) or C(max_wal_senders=0) (PGTune's desktop type), which would break replication.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.patroni
  - dpg.cluster.postgres
attributes:
  check_mode:
    support: full
    description: Computes and diffs; sends no PATCH and runs no ALTER SYSTEM.
  diff_mode:
    support: full
    description: The managed settings before and after.
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
      - C(auto) reads pg_stat_database through the login options and picks oltp, web or mixed from the share of
        written rows.
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
  apply:
    description:
      - Where to apply the settings. C(none) only computes.
    type: str
    choices: [none, patroni, alter_system]
    default: none
'''

EXAMPLES = r'''
- name: Show what PGTune would set for this host
  dpg.cluster.pg_tune:
    profile: read-heavy
    storage: nvme
  register: tune

- name: Apply write-heavy settings to the whole Patroni cluster, 150 server connections behind PgBouncer
  dpg.cluster.pg_tune:
    profile: write-heavy
    max_connections: 150
    apply: patroni
    api_username: patroni
    api_password: "{{ patroni_restapi_password }}"
  run_once: true

- name: Tune a standalone server with ALTER SYSTEM
  dpg.cluster.pg_tune:
    profile: mixed
    apply: alter_system
    login_unix_socket: /var/run/postgresql
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
changed_settings:
  description: Names of settings whose applied value differs from the computed one.
  returned: always
  type: list
  elements: str
restart_required:
  description: Names among RV(changed_settings) that take effect only after a PostgreSQL restart.
  returned: always
  type: list
  elements: str
queries:
  description: SQL run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
requests:
  description: Patroni REST requests sent.
  returned: always
  type: list
  elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _tune
from ansible_collections.dpg.cluster.plugins.module_utils._patroni import (
    PATRONI_API_ARGSPEC, PatroniClient, PatroniError, config_patch)
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import (
    POSTGRES_ARGSPEC, alter_system_statement, connect_or_fail)


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


def _same(name, a, b):
    """Compare a computed value with an applied one (memory units normalised)."""
    if a is None or b is None:
        return a == b
    sa, sb = str(a).strip(), str(b).strip()
    if sa == sb:
        return True
    try:
        if any(sa.endswith(u) for u in ('kB', 'MB', 'GB', 'TB')) or any(sb.endswith(u) for u in ('kB', 'MB', 'GB', 'TB')):
            return _tune.parse_size_kb(sa) == _tune.parse_size_kb(sb)
        return float(sa) == float(sb)
    except ValueError:
        return sa.lower() == sb.lower()


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
        apply=dict(type='str', default='none', choices=['none', 'patroni', 'alter_system']),
    )
    argument_spec.update(PATRONI_API_ARGSPEC)
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    for name in ('memory_mb', 'cpus', 'max_connections'):
        if p[name] is not None and p[name] <= 0:
            module.fail_json(msg='%s must be a positive integer, got %s' % (name, p[name]))
    if p['postgresql_version'] < 10:
        module.fail_json(msg='postgresql_version %s is not supported: use 10 or newer' % p['postgresql_version'])
    if p['apply'] == 'patroni' and not module.check_mode and not (p['api_username'] and p['api_password']):
        module.fail_json(msg='apply=patroni needs api_username and api_password (Patroni restapi.authentication)')

    session = None
    if p['apply'] == 'alter_system' or p['profile'] == 'auto':
        session = connect_or_fail(module)

    if p['memory_mb']:
        memory_kb, memory_source = p['memory_mb'] * 1024, 'given'
    else:
        try:
            memory_kb, memory_source = detect_memory_kb()
        except ValueError as e:
            module.fail_json(msg=str(e))
    cpus = p['cpus'] or detect_cpus()

    profile_reason = 'given'
    if p['profile'] == 'auto':
        rows = session.execute(
            'SELECT coalesce(sum(tup_fetched), 0), coalesce(sum(tup_inserted), 0), '
            'coalesce(sum(tup_updated), 0), coalesce(sum(tup_deleted), 0) FROM pg_catalog.pg_stat_database')
        stats = dict(zip(('tup_fetched', 'tup_inserted', 'tup_updated', 'tup_deleted'), rows[0]))
        db_type, profile_reason = _tune.choose_profile(stats)
    else:
        db_type = _tune.resolve_profile(p['profile'])

    try:
        computed = _tune.compute(memory_kb, cpus, db_type, p['storage'], p['max_connections'], p['postgresql_version'])
    except ValueError as e:
        module.fail_json(msg=str(e))
    for name in p['exclude']:
        computed.pop(name, None)
    for name, value in p['overrides'].items():
        computed[name] = (str(value), 'override')
    settings = dict((k, v[0]) for k, v in computed.items())
    reasons = dict((k, v[1]) for k, v in computed.items())

    result = dict(changed=False, settings=settings, reasons=reasons, profile=db_type,
                  profile_reason=profile_reason, memory_mb=memory_kb // 1024, memory_source=memory_source,
                  cpus=cpus, changed_settings=[], restart_required=[], queries=[], requests=[])

    if p['apply'] == 'patroni':
        client = PatroniClient.from_module(module)
        try:
            current = client.config()
        except PatroniError as e:
            module.fail_json(msg=str(e), requests=client.requests)
        params = (current.get('postgresql') or {}).get('parameters') or {}
        changed = sorted(k for k, v in settings.items() if not _same(k, v, params.get(k)))
        patch = config_patch(current, {'postgresql': {'parameters': dict((k, settings[k]) for k in changed)}})
        result['changed_settings'] = changed
        result['restart_required'] = [k for k in changed if k in _tune.RESTART_SETTINGS]
        if changed:
            result['changed'] = True
            result['diff'] = dict(before=dict((k, params.get(k)) for k in changed),
                                  after=dict((k, settings[k]) for k in changed))
            if not module.check_mode and patch:
                try:
                    client.request('PATCH', '/config', patch)
                except PatroniError as e:
                    module.fail_json(msg='PATCH /config refused: %s' % e, requests=client.requests)
        result['requests'] = client.requests

    elif p['apply'] == 'alter_system':
        known = dict((r[0], r[1]) for r in session.execute(
            'SELECT name, context FROM pg_catalog.pg_settings WHERE name = ANY(%s)', (list(settings),), record=False))
        unknown = sorted(set(settings) - set(known))
        if unknown:
            module.fail_json(msg='this server has no setting named %s: remove it from overrides or exclude it'
                                 % ', '.join(unknown))
        configured = dict(session.execute(
            "SELECT name, setting FROM pg_catalog.pg_file_settings "
            "WHERE sourcefile LIKE %s AND error IS NULL ORDER BY seqno", ('%postgresql.auto.conf',), record=False))
        running = dict(session.execute(
            'SELECT name, current_setting(name) FROM pg_catalog.pg_settings WHERE name = ANY(%s)',
            (list(settings),), record=False))
        before = dict((k, configured.get(k, running.get(k))) for k in settings)
        changed = sorted(k for k in settings if not _same(k, settings[k], before[k]))
        result['changed_settings'] = changed
        result['restart_required'] = [k for k in changed if known.get(k) == 'postmaster']
        for k in changed:
            stmt = alter_system_statement(k)
            if module.check_mode:
                result['queries'].append(session.render(stmt, (settings[k],)))
            else:
                session.execute(stmt, (settings[k],))
        if changed:
            result['changed'] = True
            result['diff'] = dict(before=dict((k, before[k]) for k in changed),
                                  after=dict((k, settings[k]) for k in changed))
            if module.check_mode:
                result['queries'].append('SELECT pg_catalog.pg_reload_conf()')
            else:
                session.execute('SELECT pg_catalog.pg_reload_conf()')
    if session is not None:
        result['queries'] = session.queries + [q for q in result['queries'] if q not in session.queries]
        session.close()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
