# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup decisions: whether a restore target can be reached with what the repository holds, and whether
a configuration would change the passphrase of a repository that already holds data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible.errors import AnsibleFilterError

RESTORE_TYPES = ('latest', 'time', 'name', 'lsn')
_LSN = re.compile(r'^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$')


def _utc(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S+00')


def parse_time(text):
    """Epoch seconds (float) of a restore time such as ``2026-11-21 21:40:00+00`` (str).

    ISO 8601 with a date, a time and a UTC offset (``+00``, ``+01:00``, ``Z``); PostgreSQL reads the
    same text as recovery_target_time. Raises ValueError without an offset (a time without one
    would be read in the server's time zone, which the operator may not know).
    """
    value = str(text).strip().replace('Z', '+00:00')
    if re.search(r'[+-]\d\d$', value):
        value += ':00'
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError('no time zone')
    return parsed.timestamp()


def _lsn(text):
    high, low = str(text).split('/')
    return (int(high, 16) << 32) + int(low, 16)


def restore_target_problems(stanzas, restore_type, target, now, points=None):
    """Why ``target`` cannot be restored in every stanza of ``stanzas`` (list of str, empty when it can).

    ``stanzas`` is the ``stanzas`` list of dpg.cluster.pgbackrest_info (dicts with ``name``,
    ``backups``, ``oldest_backup_stop`` (epoch s) and ``oldest_backup_lsn_stop``); ``restore_type``
    one of latest, time, name, lsn; ``target`` the time, name or LSN (ignored for latest); ``now``
    epoch seconds; ``points`` the restore points recorded by playbooks/ops/restore_point.yml (list
    of dicts with ``name`` and ``time``). A time or a point must lie between the end of the oldest
    backup (the earliest consistent state) and now; an LSN must not precede the oldest backup's end.
    Every message names the range that can be restored.
    """
    if restore_type not in RESTORE_TYPES:
        return ['restore_type must be one of %s, got %r' % (', '.join(RESTORE_TYPES), restore_type)]
    problems = []
    if not stanzas:
        return ['no stanza to restore']
    for stanza in stanzas:
        if not stanza.get('backups'):
            problems.append('stanza %s has no backup in the repository: run playbooks/ops/backup.yml -e backup_type=full first'
                            % stanza.get('name'))
    if problems:
        return problems
    oldest = max(int(s['oldest_backup_stop']) for s in stanzas)
    window = 'the range that can be restored is %s .. now (%s)' % (_utc(oldest), _utc(now))
    if restore_type == 'time':
        try:
            when = parse_time(target)
        except (TypeError, ValueError):
            return ["restore_target %r is not a time with a time zone, such as '2026-11-21 21:40:00+00'; %s" % (target, window)]
        if when < oldest:
            problems.append('restore_target %s is before the end of the oldest backup; %s' % (target, window))
        elif when > now:
            problems.append('restore_target %s is in the future; %s' % (target, window))
    elif restore_type == 'name':
        known = [p for p in (points or []) if p.get('name') == target]
        if not known:
            names = ', '.join('%s (%s)' % (p.get('name'), p.get('time')) for p in (points or [])) or 'none'
            problems.append('restore point %r was not recorded by playbooks/ops/restore_point.yml; recorded points: %s; %s'
                            % (target, names, window))
        else:
            try:
                when = parse_time(known[-1]['time'])
            except (KeyError, TypeError, ValueError):
                raise AnsibleFilterError('restore point %r has no readable time in the ledger: %r' % (target, known[-1]))
            if when < oldest:
                problems.append('restore point %s (%s) is older than the oldest backup; %s' % (target, known[-1]['time'], window))
    elif restore_type == 'lsn':
        if not _LSN.match(str(target)):
            return ["restore_target %r is not an LSN such as '0/3000158'; %s" % (target, window)]
        for stanza in stanzas:
            floor = stanza.get('oldest_backup_lsn_stop')
            if floor and _lsn(target) < _lsn(floor):
                problems.append('LSN %s is before the end of the oldest backup of stanza %s (%s)' % (target, stanza['name'], floor))
            ceiling = segment_end_lsn(stanza.get('archive_max'))
            if ceiling is not None and _lsn(target) > ceiling:
                problems.append('LSN %s is beyond the newest archived WAL of stanza %s (segment %s ends at %s): it is in '
                                'the future or not archived yet; the range that can be restored is %s .. %s'
                                % (target, stanza['name'], stanza['archive_max'], _lsn_text(ceiling), floor or '?',
                                   _lsn_text(ceiling)))
    return problems


WAL_SEGMENT_BYTES = 16 * 1024 * 1024  # PostgreSQL's default wal_segment_size, which the collection keeps


def segment_end_lsn(segment, segment_bytes=WAL_SEGMENT_BYTES):
    """The LSN (int) at which WAL segment ``segment`` (24 hex digits: timeline, log, segment) ends, or None.

    Segment number n of log L holds LSNs L/(n * size) up to L/((n + 1) * size) (PostgreSQL's
    XLogFromFileName, src/include/access/xlog_internal.h); ``segment_bytes`` is wal_segment_size.
    """
    if not segment or not re.match(r'^[0-9A-Fa-f]{24}$', str(segment)):
        return None
    log, seg = int(segment[8:16], 16), int(segment[16:24], 16)
    return (log << 32) + (seg + 1) * segment_bytes


def _lsn_text(value):
    return '%X/%X' % (value >> 32, value & 0xFFFFFFFF)


def restore_backup_set(stanza, restore_type, target, points=None):
    """The label of the backup to restore ``stanza`` from for this target (str; '' lets pgBackRest choose).

    ``stanza`` is one entry of dpg.cluster.pgbackrest_info's ``stanzas``. pgBackRest picks the backup
    itself only for time and LSN targets; for a named point it takes the newest backup, which may
    have ended after the point, and recovery would then stop with "recovery ended before configured
    recovery target was reached". So: for ``name`` the newest backup that ended before the point's
    recorded time (``points``, from restore_point.yml), for ``lsn`` the newest whose stop LSN is not
    after the target, for ``time`` the newest that ended before the time; '' for latest. Raises
    AnsibleFilterError when no backup ends before the target (restore_target_problems refuses such a
    target before this is called).
    """
    backups = list(stanza.get('backups') or [])
    if restore_type == 'latest':
        return ''
    if restore_type == 'lsn':
        fits = [b for b in backups if b.get('lsn_stop') and _lsn(b['lsn_stop']) <= _lsn(target)]
    else:
        if restore_type == 'name':
            known = [p for p in (points or []) if p.get('name') == target]
            if not known:
                raise AnsibleFilterError('restore point %r was not recorded' % (target,))
            when = parse_time(known[-1]['time'])
        else:
            when = parse_time(target)
        fits = [b for b in backups if b.get('stop') is not None and int(b['stop']) <= when]
    if not fits:
        raise AnsibleFilterError('no backup of stanza %s ends before %s %s' % (stanza.get('name'), restore_type, target))
    return max(fits, key=lambda b: int(b.get('stop') or 0))['label']


def pgbackrest_cipher_changed(conf_text, cipher_pass, repo=1):
    """Whether writing ``cipher_pass`` would change the passphrase that ``conf_text`` gives repository ``repo``.

    ``conf_text`` is the current pgbackrest.conf (str; None or '' when there is none yet, which is never a
    change). ``cipher_pass`` is the passphrase about to be written (str; '' or None for an unencrypted
    repository). The passphrase is the value of ``repo<N>-cipher-pass=`` in any section, as pgBackRest
    reads an ini line (text after the first ``=``, surrounding white space trimmed). Returns bool: True when
    the file has a passphrase and the new one differs, or has none and a passphrase would be added, or has
    one and it would be removed. pgBackRest cannot re-encrypt a repository: its info files and every
    archived file keep the passphrase they were written with.
    """
    if not conf_text:
        return False
    key = 'repo%d-cipher-pass' % int(repo)
    current = None
    for line in str(conf_text).splitlines():
        name, sep, value = line.partition('=')
        if sep and name.strip() == key:
            current = value.strip()
    new = str(cipher_pass).strip() if cipher_pass not in (None, '') else None
    return current != new


class FilterModule(object):
    """Backup filters."""

    def filters(self):
        return {'restore_target_problems': restore_target_problems, 'restore_backup_set': restore_backup_set,
                'pgbackrest_cipher_changed': pgbackrest_cipher_changed}
