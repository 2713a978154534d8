#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pgbackrest_info
short_description: Report pgBackRest stanzas, their backups, WAL archive range and backup age
version_added: 0.4.0
description:
  - Runs C(pgbackrest --output=json info) on the managed host and summarizes it per stanza, backups oldest first.
  - Reports the age of the newest backup, the earliest point a restore can reach, the WAL range per archive
    and the progress of a backup that is running.
  - Never changes anything.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.attributes
  - dpg.cluster.attributes.read_only
options:
  stanza:
    description:
      - Name of the only stanza to report (pgBackRest's C(--stanza)).
      - Default is every stanza in the repository.
      - When the stanza is not in the repository the task fails and names the stanzas that are,
        unless O(fail_on_missing=false).
    type: str
  config:
    description:
      - pgBackRest's configuration file on the managed host (its C(--config)).
      - Default is pgBackRest's own, C(/etc/pgbackrest/pgbackrest.conf) or C(/etc/pgbackrest.conf).
    type: path
  fail_on_missing:
    description:
      - Fail when O(stanza) is not in the repository.
      - With V(false) the stanza is returned with its status (code 1, C(missing stanza path)) and no backups.
    type: bool
    default: true
notes:
  - Runs pgBackRest as the remote user; use C(become_user=postgres), the user pgBackRest's repository and
    lock files belong to.
  - The pgBackRest release this module was written against is 2.55; keys absent from older releases are
    reported as null.
seealso:
  - name: pgBackRest info command
    description: The command and the fields of its JSON output.
    link: https://pgbackrest.org/command.html#command-info
'''

EXAMPLES = r'''
- name: Read the backups of stanza demo
  dpg.cluster.pgbackrest_info:
    stanza: demo
  become: true
  become_user: postgres
  register: backups

- name: Fail when the newest backup is older than a day
  ansible.builtin.assert:
    that:
      - backups.stanzas[0].newest_backup_age_seconds is not none
      - backups.stanzas[0].newest_backup_age_seconds < 86400
    fail_msg: "newest backup of demo: {{ backups.stanzas[0].newest_backup | default('none', true) }}"

- name: List every stanza of a repository named in another configuration file, missing ones included
  dpg.cluster.pgbackrest_info:
    config: /etc/pgbackrest/repo2.conf
  become: true
  become_user: postgres
  register: repo2
'''

RETURN = r'''
stanza_names:
  description: Names of the stanzas reported.
  returned: always
  type: list
  elements: str
  sample: [demo, citus]
stanzas:
  description: One entry per stanza, in pgBackRest's order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Stanza name.
      type: str
    status:
      description:
        - pgBackRest's status of the stanza; C(code) 0 V(ok), 1 V(missing stanza path), 2 V(no valid backups),
          3 V(missing stanza data), 4 and more for errors across repositories.
      type: dict
      sample: {code: 0, message: ok}
    cipher:
      description: Repository encryption, V(none), V(aes-256-cbc) or V(mixed).
      type: str
    backup_running:
      description: Whether a backup or expire holds the stanza's backup lock on this host.
      type: bool
    backup_progress:
      description: Percent of the running backup done (0 to 100), null when none runs or its size is not known yet.
      type: float
    db:
      description: Database history of the stanza, oldest first; C(system_id) is PostgreSQL's system identifier.
      type: list
      elements: dict
      sample: [{id: 1, system_id: 7312345678901234567, version: "17"}]
    backups:
      description: Backups, oldest first.
      type: list
      elements: dict
      contains:
        label:
          description: Backup label.
          type: str
          sample: 20261121-210000F
        type:
          description: V(full), V(diff) or V(incr).
          type: str
        prior:
          description: Label of the backup this one depends on, null for a full backup.
          type: str
        start:
          description: Start of the backup, epoch seconds.
          type: int
        stop:
          description: End of the backup, epoch seconds.
          type: int
        duration_seconds:
          description: Seconds from start to stop of the backup.
          type: int
        size:
          description: Size of the database the backup restores, bytes.
          type: int
        delta:
          description: Bytes of the database copied by this backup.
          type: int
        repo_size:
          description: Bytes the backup and the backups it depends on take in the repository (compressed);
            null for block-incremental backups.
          type: int
        repo_delta:
          description: Bytes this backup adds to the repository.
          type: int
        wal_start:
          description: First WAL segment the backup needs.
          type: str
        wal_stop:
          description: Last WAL segment the backup needs.
          type: str
        lsn_start:
          description: LSN at the start of the backup, null when not recorded.
          type: str
        lsn_stop:
          description: LSN at the end of the backup, null when not recorded.
          type: str
        error:
          description: Whether pgBackRest found errors (for example page checksum errors) while copying.
          type: bool
    newest_backup:
      description: Label of the newest backup, null when there is none.
      type: str
    newest_backup_age_seconds:
      description: Seconds since the newest backup ended (now on the managed host minus its stop time), null when there is none.
      type: int
    oldest_backup_stop:
      description: End of the oldest backup, epoch seconds; the earliest point a restore can reach. Null when there is no backup.
      type: int
    oldest_backup_lsn_stop:
      description: LSN at the end of the oldest backup, null when there is no backup or it was not recorded.
      type: str
    archive:
      description: WAL segments in the archive per archive id (PostgreSQL version and database id); C(min) and C(max) are null when there are none.
      type: list
      elements: dict
      sample: [{id: 17-1, min: "000000010000000000000001", max: "000000010000000000000005"}]
    archive_max:
      description: Newest WAL segment archived for the current database, null when there is none.
      type: str
      sample: "000000010000000000000005"
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dpg.cluster.plugins.module_utils import _pgbackrest


class InfoFailed(Exception):
    """pgbackrest info failed; args[0] is the message, details the fail_json extras (rc, stdout, stderr, cmd)."""

    def __init__(self, msg, **details):
        super(InfoFailed, self).__init__(msg)
        self.details = details


def read_info(module, binary, stanza):
    """Run pgbackrest info for stanza (all stanzas when None) as the current user.

    :returns: the parsed document, a list of raw stanza dicts.
    :raises InfoFailed: on a non-zero exit status or output that is not JSON.
    """
    argv = _pgbackrest.info_command(binary, module.params['config'], stanza)
    # Bytes that are not UTF-8 (an error message quoting what a wrong passphrase decrypted) are replaced:
    # kept as surrogates they would make the whole result unreadable to the controller.
    rc, out, err = module.run_command(argv, errors='replace')
    details = dict(rc=rc, stdout=out, stderr=err, cmd=argv)
    if rc != 0:
        detail = (err or '').strip() or (out or '').strip() or '(no output)'
        raise InfoFailed('%s exited with %s: %s; %s' % (' '.join(argv), rc, detail[:2000],
                                                        _pgbackrest.failure_hint(detail)), **details)
    try:
        return _pgbackrest.parse_info_output(out)
    except ValueError as e:
        raise InfoFailed('%s; %s' % (e, _pgbackrest.CONFIG_HINT), **details)


def run(module, now):
    """Everything pgbackrest_info returns, as a dict (changed is always false); failures end in fail_json.

    :param now: the current time, epoch seconds (float).
    """
    p = module.params
    binary = module.get_bin_path('pgbackrest')
    if not binary:
        module.fail_json(msg='pgbackrest is not installed on this host (not found in PATH): install the pgbackrest '
                             'package, or run the task on a host where pgBackRest is set up')
    try:
        result = _pgbackrest.summarize(read_info(module, binary, p['stanza']), now)
    except InfoFailed as e:
        module.fail_json(msg=str(e), **e.details)
    if p['stanza'] and p['fail_on_missing']:
        if not result['stanzas'] or any(_pgbackrest.is_missing(s) for s in result['stanzas']):
            try:
                existing = _pgbackrest.summarize(read_info(module, binary, None), now)['stanza_names']
            except InfoFailed:
                existing = None
            module.fail_json(msg=_pgbackrest.missing_stanza_message(p['stanza'], existing), **result)
    return dict(changed=False, **result)


def main():
    argument_spec = dict(
        stanza=dict(type='str'),
        config=dict(type='path'),
        fail_on_missing=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run(module, time.time()))


if __name__ == '__main__':
    main()
