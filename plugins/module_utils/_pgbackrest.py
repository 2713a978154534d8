# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The output of ``pgbackrest info --output=json``, summarized: no I/O.

Key names follow pgBackRest's ``src/command/info/info.c`` (release 2.55.1). The document is a list
with one object per stanza::

    {"name": ..., "cipher": ..., "status": {"code": int, "message": str,
                                            "lock": {"backup": {"held": bool, "size-cplt": int, "size": int}}},
     "db": [{"id": int, "system-id": int, "version": str, "repo-key": int}, ...],        # oldest to newest
     "archive": [{"id": "17-1", "min": str|null, "max": str|null, "database": {"id": int, "repo-key": int}}, ...],
     "backup": [{"label": str, "type": "full"|"diff"|"incr", "prior": str|null,
                 "timestamp": {"start": int, "stop": int}, "archive": {"start": str, "stop": str},
                 "info": {"size": int, "delta": int, "repository": {"size": int, "delta": int}},
                 "lsn": {"start": str, "stop": str}, "error": bool, ...}, ...],
     "repo": [...]}

Every key may be absent: what is missing comes back as None (``error`` as False, lists as []).
``info.repository.size`` is absent for block-incremental backups (pgBackRest reports a size map
then); ``lsn`` and ``error`` are absent for backups made by older pgBackRest releases;
``status.lock.backup.size``/``size-cplt`` are present only while a backup runs and its size is known.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# status.code of a stanza (info.c INFO_STANZA_STATUS_CODE_*)
STATUS_OK = 0
STATUS_MISSING_STANZA_PATH = 1
STATUS_NO_BACKUP = 2
STATUS_MISSING_STANZA_DATA = 3

CONFIG_HINT = ('check the pgBackRest configuration (/etc/pgbackrest.conf, or the file given as config) here and on '
               'the repository host, and that the task runs as postgres (become_user: postgres)')
CIPHER_HINT = ('the repository\'s files could not be read with the configured passphrase: repo1-cipher-pass '
               '(dpg_backup_cipher_pass) must be the one the repository was created with; put that value back')


def failure_hint(output):
    """The hint for a failed ``pgbackrest info``: CIPHER_HINT when its output (str) shows a decryption failure
    (pgBackRest's CryptoError, or bytes that were not UTF-8, which is what a wrong passphrase decrypts to),
    else CONFIG_HINT."""
    text = output or ''
    if 'CryptoError' in text or 'cipher' in text.lower() or u'\ufffd' in text:
        return CIPHER_HINT
    return CONFIG_HINT


def info_command(binary, config=None, stanza=None):
    """The argv of ``pgbackrest info`` with JSON output.

    :param binary: path of the pgbackrest executable (str).
    :param config: pgBackRest's --config file (str) or None for its default.
    :param stanza: name of the one stanza to report (str) or None for all.
    :returns: list of str, for run_command without a shell.
    """
    argv = [binary]
    if config:
        argv.append('--config=%s' % config)
    if stanza:
        argv.append('--stanza=%s' % stanza)
    argv.extend(['--output=json', 'info'])
    return argv


def parse_info_output(text):
    """Decode the JSON printed by ``pgbackrest info --output=json``.

    :param text: stdout of the command (str).
    :returns: list of dict, one raw stanza object each.
    :raises ValueError: when the text is not JSON, or not a list of objects; the message says what was
        printed (at most 200 characters of it).
    """
    shown = (text or '').strip()
    if len(shown) > 200:
        shown = shown[:200] + '...'
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as e:
        raise ValueError('pgbackrest info --output=json did not print JSON (%s): %r' % (e, shown))
    if not isinstance(doc, list) or not all(isinstance(s, dict) for s in doc):
        raise ValueError('pgbackrest info --output=json printed JSON that is not a list of stanza objects: %r' % shown)
    return doc


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _int(value):
    """value as int, or None when it is absent or not a number (booleans are not numbers here)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value):
    return None if value is None else str(value)


def backup_progress(status):
    """Percent done of the backup running on a stanza.

    :param status: the stanza's raw ``status`` object (dict, may be None).
    :returns: float from 0.0 to 100.0 rounded to 2 decimals, or None when no size is reported
        (no backup running, or pgBackRest does not know its size yet).
    """
    lock = _dict(_dict(_dict(status).get('lock')).get('backup'))
    size = _int(lock.get('size'))
    done = _int(lock.get('size-cplt'))
    if not size or size <= 0 or done is None:
        return None
    return round(min(max(done, 0), size) * 100.0 / size, 2)


def summarize_backup(raw):
    """One backup, flattened.

    :param raw: a raw object of the stanza's ``backup`` list (dict).
    :returns: dict with label, type, prior (str or None), start and stop (epoch seconds, int or None),
        duration_seconds (int or None), size, delta, repo_size, repo_delta (bytes, int or None),
        wal_start, wal_stop, lsn_start, lsn_stop (str or None) and error (bool).
    """
    raw = _dict(raw)
    stamp = _dict(raw.get('timestamp'))
    info = _dict(raw.get('info'))
    repo = _dict(info.get('repository'))
    archive = _dict(raw.get('archive'))
    lsn = _dict(raw.get('lsn'))
    start, stop = _int(stamp.get('start')), _int(stamp.get('stop'))
    return dict(
        label=_str(raw.get('label')),
        type=_str(raw.get('type')),
        prior=_str(raw.get('prior')),
        start=start,
        stop=stop,
        duration_seconds=stop - start if start is not None and stop is not None else None,
        size=_int(info.get('size')),
        delta=_int(info.get('delta')),
        repo_size=_int(repo.get('size')),
        repo_delta=_int(repo.get('delta')),
        wal_start=_str(archive.get('start')),
        wal_stop=_str(archive.get('stop')),
        lsn_start=_str(lsn.get('start')),
        lsn_stop=_str(lsn.get('stop')),
        error=raw.get('error') is True,
    )


def _backup_order(backup):
    # oldest first: by stop time, then label (labels start with the date and time of the full backup)
    stop = backup['stop']
    return (stop is None, stop if stop is not None else 0, backup['label'] or '')


def summarize_stanza(raw, now):
    """One stanza, summarized.

    :param raw: a raw stanza object of the info output (dict).
    :param now: the current time in epoch seconds (int or float).
    :returns: dict with name (str), status ({code: int or None, message: str or None}), cipher (str or None),
        backup_running (bool), backup_progress (percent float or None), db (list of {id, system_id, version}),
        backups (list of :func:`summarize_backup` dicts, oldest first), newest_backup (label or None),
        newest_backup_age_seconds (int seconds or None; negative when the backup host's clock is ahead),
        oldest_backup_stop (epoch seconds or None), oldest_backup_lsn_stop (str or None),
        archive (list of {id, min, max}) and archive_max (str WAL segment or None).
    """
    raw = _dict(raw)
    status = _dict(raw.get('status'))
    lock = _dict(_dict(status.get('lock')).get('backup'))

    db = []
    for entry in _list(raw.get('db')):
        entry = _dict(entry)
        item = dict(id=_int(entry.get('id')), system_id=_int(entry.get('system-id')), version=_str(entry.get('version')))
        if item not in db:  # the same history appears once per repository
            db.append(item)
    db_ids = [d['id'] for d in db if d['id'] is not None]
    current_db = max(db_ids) if db_ids else None

    archive = []
    current_max = []
    for entry in _list(raw.get('archive')):
        entry = _dict(entry)
        item = dict(id=_str(entry.get('id')), min=_str(entry.get('min')), max=_str(entry.get('max')))
        archive.append(item)
        if item['max'] is not None and _int(_dict(entry.get('database')).get('id')) == current_db:
            current_max.append(item['max'])

    backups = sorted((summarize_backup(b) for b in _list(raw.get('backup'))), key=_backup_order)
    newest = backups[-1] if backups else None
    oldest = backups[0] if backups else None
    age = None
    if newest is not None and newest['stop'] is not None:
        age = int(now) - newest['stop']

    return dict(
        name=_str(raw.get('name')),
        status=dict(code=_int(status.get('code')), message=_str(status.get('message'))),
        cipher=_str(raw.get('cipher')),
        backup_running=lock.get('held') is True,
        backup_progress=backup_progress(status),
        db=db,
        backups=backups,
        newest_backup=newest['label'] if newest else None,
        newest_backup_age_seconds=age,
        oldest_backup_stop=oldest['stop'] if oldest else None,
        oldest_backup_lsn_stop=oldest['lsn_stop'] if oldest else None,
        archive=archive,
        # WAL segment names of one timeline sort as text; the newest of the current database
        archive_max=max(current_max) if current_max else None,
    )


def summarize(doc, now):
    """Every stanza of a parsed info document.

    :param doc: list of raw stanza objects (:func:`parse_info_output`).
    :param now: the current time in epoch seconds (int or float).
    :returns: dict with stanzas (list of :func:`summarize_stanza` dicts, in pgBackRest's order) and
        stanza_names (list of str).
    """
    stanzas = [summarize_stanza(s, now) for s in _list(doc)]
    return dict(stanzas=stanzas, stanza_names=[s['name'] for s in stanzas if s['name'] is not None])


def is_missing(stanza):
    """Whether a summarized stanza is absent from the repository (status code 1, "missing stanza path").

    :param stanza: a :func:`summarize_stanza` dict.
    :returns: bool.
    """
    return stanza['status']['code'] == STATUS_MISSING_STANZA_PATH


def missing_stanza_message(stanza, existing):
    """The failure message for a stanza that is not in the repository.

    :param stanza: the name asked for (str).
    :param existing: names of the stanzas in the repository (list of str), or None when they could not be listed.
    :returns: str, saying what is wrong and what to do.
    """
    if existing is None:
        there = 'the stanzas there could not be listed'
    else:
        names = [n for n in existing if n != stanza]
        there = 'stanzas there: %s' % (', '.join(names) if names else 'none')
    return 'stanza %s is not in the repository; %s (run playbooks/backup.yml to create it)' % (stanza, there)
