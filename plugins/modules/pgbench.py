#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pgbench
short_description: Run pgbench once against one endpoint and return throughput, latency percentiles and errors
version_added: 0.7.0
description:
  - Runs PostgreSQL's C(pgbench) on the host that runs the module, for O(duration) seconds with O(clients)
    clients, with a per-transaction log, and returns transactions per second, latency p50 / p95 / p99 (from
    the log, nearest-rank), failed transactions, aborted clients and the progress pgbench printed.
  - With O(initialize=true) it runs C(pgbench -i) instead, creating the pgbench tables at O(scale).
  - The password reaches pgbench in a pgpass file (mode 0600) in a private temporary directory that is
    removed afterwards, never on the command line or in the task's environment.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.postgres
  - dpg.cluster.attributes
attributes:
  check_mode:
    support: full
    details: Runs nothing; reports whether a run would change data (initialisation and write scripts do).
  diff_mode:
    support: none
options:
  initialize:
    description:
      - Create (drop and re-create) the pgbench tables at O(scale) instead of running a benchmark.
    type: bool
    default: false
  scale:
    description:
      - Scale factor of O(initialize=true); each unit is 100,000 rows of C(pgbench_accounts).
    type: int
    default: 10
  builtin:
    description:
      - pgbench's built-in script. V(select-only) is one primary-key C(SELECT) per transaction,
        V(simple-update) an C(UPDATE), C(SELECT) and C(INSERT), V(tpcb-like) five statements.
      - Ignored when O(script) is given.
    type: str
    choices: [select-only, simple-update, tpcb-like]
    default: select-only
  script:
    description:
      - A custom pgbench script (its text), run instead of O(builtin); each run of it is one transaction.
    type: str
  mix:
    description:
      - Several scripts run in one benchmark, each transaction picking one at random by weight (pgbench
        C(-b name@weight) and C(-f file@weight)), e.g. nine reads to one write. Replaces O(builtin) and O(script).
    type: list
    elements: dict
    suboptions:
      builtin:
        description:
          - A built-in script name (as in O(builtin)); give this or O(mix[].script).
        type: str
        choices: [select-only, simple-update, tpcb-like]
      script:
        description:
          - A custom script's text.
        type: str
      weight:
        description:
          - Relative weight, 1 to 1000.
        type: int
        default: 1
  clients:
    description:
      - Concurrent clients (pgbench C(-c)).
    type: int
    default: 8
  threads:
    description:
      - pgbench worker threads (C(-j)); at most O(clients). Without it, the smaller of O(clients) and the
        host's CPU count.
    type: int
  duration:
    description:
      - Length of the run in seconds (C(-T)), 1 to 3600.
    type: int
    default: 30
  protocol:
    description:
      - Query protocol (C(-M)). V(prepared) needs session pooling or PgBouncer's C(max_prepared_statements).
    type: str
    choices: [simple, extended, prepared]
    default: simple
  reconnect:
    description:
      - Open a new connection for every transaction (C(-C)), to measure connection cost (TLS handshake,
        authentication, a pooler's saving).
    type: bool
    default: false
  sampling_rate:
    description:
      - Fraction of transactions written to the per-transaction log the percentiles come from, 0 to 1
        (C(--sampling-rate)); lower it for very long or very fast runs.
    type: float
    default: 1.0
  progress:
    description:
      - Seconds between two progress lines of pgbench (C(-P)), returned as RV(progress); 0 for none.
    type: int
    default: 5
  pgbench_path:
    description:
      - The pgbench binary.
    type: path
    default: /usr/lib/postgresql/17/bin/pgbench
notes:
  - The load goes only to O(login_host):O(login_port), for at most O(duration) seconds plus connection time.
  - pgbench measures an endpoint over TCP, so O(login_host) is required and O(login_unix_socket) is refused.
    O(ssl_cert) and O(ssl_key) reach pgbench as C(PGSSLCERT) and C(PGSSLKEY).
  - A run in which pgbench aborted clients (exit code 2) still returns its figures, with RV(aborted_clients)
    and a warning, as the errors are part of the result (a load test's "connection errors").
'''

EXAMPLES = r'''
- name: Read-only throughput and latency through the balancer's read-only port
  dpg.cluster.pgbench:
    login_host: lb1.example.net
    login_port: 5001
    login_user: app_user
    login_password: "{{ app_password }}"
    login_db: app
    ssl_mode: verify-full
    ca_cert: /etc/patroni/tls/ca.crt
    builtin: select-only
    clients: 16
    duration: 60
  register: read

- name: One-statement writes through the read-write port
  dpg.cluster.pgbench:
    login_host: lb1.example.net
    login_port: 5000
    login_user: app_user
    login_password: "{{ app_password }}"
    login_db: app
    # a custom script has no :scale of its own: the number of accounts of scale 10 is written out
    script: |
      \set aid random(1, 1000000)
      UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
    clients: 16
    duration: 60
'''

RETURN = r'''
tps:
  description: Transactions per second, without the initial connection time.
  returned: when a benchmark ran
  type: float
  sample: 1834.2
transactions:
  description: Transactions that completed.
  returned: when a benchmark ran
  type: int
failed_transactions:
  description: Transactions that failed (pgbench's count plus failed entries of the log).
  returned: when a benchmark ran
  type: int
aborted_clients:
  description: Clients pgbench aborted after an error (a lost connection, a refused login).
  returned: when a benchmark ran
  type: int
latency_ms:
  description: Latency of the logged transactions in milliseconds (count, mean, p50, p95, p99, max).
  returned: when a benchmark ran
  type: dict
  sample: {count: 55012, mean: 4.3, p50: 3.9, p95: 8.1, p99: 12.7, max: 41.0}
latency_average_ms:
  description: pgbench's own average latency in milliseconds.
  returned: when a benchmark ran
  type: float
initial_connection_ms:
  description: Time pgbench took to open its connections, in milliseconds (null with O(reconnect=true)).
  returned: when a benchmark ran
  type: float
average_connection_ms:
  description: Average time to open a connection, in milliseconds (with O(reconnect=true); null otherwise).
  returned: when a benchmark ran
  type: float
progress:
  description: pgbench's progress lines (time since start in s, tps, latency in ms).
  returned: when a benchmark ran
  type: list
  elements: dict
  sample: [{t_s: 5.0, tps: 1802.4, latency_ms: 4.4}]
errors:
  description: Distinct error lines pgbench printed (at most 10).
  returned: always
  type: list
  elements: str
command:
  description: The pgbench command line (it holds no secret).
  returned: always
  type: list
  elements: str
msg:
  description: What went wrong when pgbench aborted clients.
  returned: when clients were aborted
  type: str
rc:
  description: pgbench's exit code (0 success, 1 bad start, 2 aborted clients).
  returned: unless in check mode
  type: int
'''

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _bench
from ansible_collections.dpg.cluster.plugins.module_utils._postgres import POSTGRES_ARGSPEC

BUILTIN_WRITES = ('simple-update', 'tpcb-like')
LOG_PREFIX = 'dpg-pgbench'


def _pgpass_field(value):
    """A pgpass field with ``\\`` and ``:`` escaped (libpq docs, "The Password File")."""
    return str(value).replace('\\', '\\\\').replace(':', '\\:')


def pgbench_argv(params, workdir):
    """The pgbench command line (list of str) for the module's params; no secret is in it.

    :param workdir: private directory for the script file and the per-transaction logs.
    """
    p = params
    argv = [p['pgbench_path'], '-h', p['login_host'], '-p', str(p['login_port']), '-U', p['login_user']]
    if p['initialize']:
        return argv + ['-i', '-q', '-s', str(p['scale']), p['login_db']]
    threads = p['threads'] or min(p['clients'], os.cpu_count() or 1)
    argv += ['-n', '-c', str(p['clients']), '-j', str(threads), '-T', str(p['duration']), '-M', p['protocol'],
             '-l', '--log-prefix', os.path.join(workdir, LOG_PREFIX)]
    if p['reconnect']:
        argv.append('-C')
    if p['sampling_rate'] < 1:
        argv += ['--sampling-rate', str(p['sampling_rate'])]
    if p['progress']:
        argv += ['-P', str(p['progress'])]
    if p['mix']:
        for i, item in enumerate(p['mix']):
            if item.get('script'):
                argv += ['-f', '%s@%d' % (os.path.join(workdir, 'mix%d.sql' % i), item['weight'])]
            else:
                argv += ['-b', '%s@%d' % (item['builtin'], item['weight'])]
    elif p['script']:
        argv += ['-f', os.path.join(workdir, 'script.sql')]
    else:
        argv += ['-b', p['builtin']]
    return argv + [p['login_db']]


def check_params(params):
    """Problems with the params (list of str), found before any connection is made."""
    p = params
    problems = []
    if not p.get('login_host'):
        problems.append('login_host is required: pgbench measures an endpoint reached over TCP')
    if p.get('login_unix_socket'):
        problems.append('login_unix_socket is not used by pgbench runs here: give login_host and login_port')
    if p['clients'] < 1 or p['clients'] > 1000:
        problems.append('clients must be 1 to 1000, not %s' % p['clients'])
    if p['threads'] is not None and not 1 <= p['threads'] <= p['clients']:
        problems.append('threads must be 1 to clients (%s), not %s' % (p['clients'], p['threads']))
    if not 1 <= p['duration'] <= 3600:
        problems.append('duration must be 1 to 3600 s, not %s' % p['duration'])
    if not 0 < p['sampling_rate'] <= 1:
        problems.append('sampling_rate must be above 0 and at most 1, not %s' % p['sampling_rate'])
    if p['progress'] < 0:
        problems.append('progress must be 0 or more seconds, not %s' % p['progress'])
    for item in p['mix'] or []:
        if bool(item.get('builtin')) == bool(item.get('script')):
            problems.append('each mix entry needs exactly one of builtin and script')
        if not 1 <= (item.get('weight') or 0) <= 1000:
            problems.append('each mix weight must be 1 to 1000, not %s' % item.get('weight'))
    if p['initialize'] and p['scale'] < 1:
        problems.append('scale must be 1 or more, not %s' % p['scale'])
    return problems


def main():
    argument_spec = dict(
        initialize=dict(type='bool', default=False),
        scale=dict(type='int', default=10),
        builtin=dict(type='str', default='select-only', choices=['select-only', 'simple-update', 'tpcb-like']),
        script=dict(type='str'),
        mix=dict(type='list', elements='dict', options=dict(
            builtin=dict(type='str', choices=['select-only', 'simple-update', 'tpcb-like']),
            script=dict(type='str'),
            weight=dict(type='int', default=1))),
        clients=dict(type='int', default=8),
        threads=dict(type='int'),
        duration=dict(type='int', default=30),
        protocol=dict(type='str', default='simple', choices=['simple', 'extended', 'prepared']),
        reconnect=dict(type='bool', default=False),
        sampling_rate=dict(type='float', default=1.0),
        progress=dict(type='int', default=5),
        pgbench_path=dict(type='path', default='/usr/lib/postgresql/17/bin/pgbench'),
    )
    argument_spec.update(POSTGRES_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    problems = check_params(p)
    if problems:
        module.fail_json(msg='pgbench not run: ' + '; '.join(problems), errors=[], command=[])
    if p['mix']:
        writes = any(m.get('script') or m.get('builtin') in BUILTIN_WRITES for m in p['mix'])
    else:
        writes = p['initialize'] or bool(p['script']) or p['builtin'] in BUILTIN_WRITES
    if not os.access(p['pgbench_path'], os.X_OK):
        module.fail_json(msg='%s is not an executable pgbench: install postgresql-client (Debian) or set '
                             'pgbench_path' % p['pgbench_path'], errors=[], command=[])
    workdir = tempfile.mkdtemp(prefix='dpg-pgbench-')
    try:
        argv = pgbench_argv(p, workdir)
        if module.check_mode:
            module.exit_json(changed=writes, command=argv, errors=[], msg='check mode: pgbench was not run')
        env = dict(PGAPPNAME='dpg.cluster pgbench', PGSSLMODE=p['ssl_mode'],
                   PGCONNECT_TIMEOUT=str(p['connect_timeout']))
        for option, variable in (('ca_cert', 'PGSSLROOTCERT'), ('ssl_cert', 'PGSSLCERT'), ('ssl_key', 'PGSSLKEY')):
            if p[option]:
                env[variable] = p[option]
        if p['login_password']:
            pgpass = os.path.join(workdir, 'pgpass')
            fd = os.open(pgpass, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write('*:*:*:%s:%s\n' % (_pgpass_field(p['login_user']), _pgpass_field(p['login_password'])))
            env['PGPASSFILE'] = pgpass
        if p['script']:
            with open(os.path.join(workdir, 'script.sql'), 'w') as f:
                f.write(p['script'])
        for i, item in enumerate(p['mix'] or []):
            if item.get('script'):
                with open(os.path.join(workdir, 'mix%d.sql' % i), 'w') as f:
                    f.write(item['script'])
        rc, out, err = module.run_command(argv, environ_update=env)
        figures = _bench.parse_pgbench_output(out, err)
        target = '%s@%s:%s/%s' % (p['login_user'], p['login_host'], p['login_port'], p['login_db'])
        if p['initialize']:
            if rc != 0:
                module.fail_json(msg='pgbench -i on %s failed (rc %s): %s' % (target, rc, err.strip()[-800:]),
                                 rc=rc, errors=figures['errors'], command=argv)
            module.exit_json(changed=True, rc=rc, errors=[], command=argv)
        if rc == 1 or figures['tps'] is None:
            module.fail_json(msg='pgbench could not run against %s (rc %s): %s. Check the endpoint, the password, '
                                 'pg_hba.conf and with TLS ssl_mode / ca_cert.' % (target, rc, err.strip()[-800:]),
                             rc=rc, errors=figures['errors'], command=argv)
        if rc == 2 or figures['aborted_clients']:
            figures['msg'] = 'pgbench aborted %s client(s) against %s (rc %s): %s' % (
                figures['aborted_clients'], target, rc, '; '.join(figures['errors'][:3]))
            module.warn(figures['msg'])
        latencies, failed_logged = _bench.read_pgbench_logs(workdir, LOG_PREFIX)
        figures['failed_transactions'] = max(figures['failed_transactions'] or 0, failed_logged)
        figures['latency_ms'] = _bench.latency_summary(latencies)
        module.exit_json(changed=writes, rc=rc, command=argv, **figures)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
