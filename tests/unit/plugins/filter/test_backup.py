"""Restore targets: refused outside what the repository can reach, with the range in the message."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.backup import (
    parse_time, pgbackrest_cipher_changed, restore_backup_set, restore_target_problems)

NOW = parse_time("2026-11-21 22:00:00+00")
STANZAS = [
    {"name": "demo-g0", "backups": [{"label": "F"}], "oldest_backup_stop": parse_time("2026-11-21 20:00:00+00"),
     "oldest_backup_lsn_stop": "0/3000158"},
    {"name": "demo-g1", "backups": [{"label": "F"}], "oldest_backup_stop": parse_time("2026-11-21 20:30:00+00"),
     "oldest_backup_lsn_stop": "0/5000000"},
]
POINTS = [{"name": "before", "time": "2026-11-21 21:00:00.123456+00"}, {"name": "early", "time": "2026-11-21 20:10:00+00"}]


def test_parse_time_needs_a_zone():
    assert parse_time("2026-11-21T20:00:00Z") == parse_time("2026-11-21 21:00:00+01:00")
    with pytest.raises(ValueError):
        parse_time("2026-11-21 20:00:00")


def test_reachable_targets():
    assert restore_target_problems(STANZAS, "latest", "", NOW) == []
    assert restore_target_problems(STANZAS, "time", "2026-11-21 21:30:00+00", NOW) == []
    assert restore_target_problems(STANZAS, "name", "before", NOW, POINTS) == []
    assert restore_target_problems(STANZAS, "lsn", "0/6000000", NOW) == []


def test_time_outside_the_range_names_it():
    # the range starts at the latest "oldest backup" of all stanzas: every group must reach the target
    (msg,) = restore_target_problems(STANZAS, "time", "2026-11-21 20:15:00+00", NOW)
    assert "before the end of the oldest backup" in msg and "2026-11-21 20:30:00+00 .. now (2026-11-21 22:00:00+00)" in msg
    (msg,) = restore_target_problems(STANZAS, "time", "2026-11-22 00:00:00+00", NOW)
    assert "in the future" in msg
    (msg,) = restore_target_problems(STANZAS, "time", "yesterday", NOW)
    assert "not a time with a time zone" in msg


def test_names_and_lsns():
    (msg,) = restore_target_problems(STANZAS, "name", "nope", NOW, POINTS)
    assert "was not recorded" in msg and "before (2026-11-21 21:00:00.123456+00)" in msg
    (msg,) = restore_target_problems(STANZAS, "name", "early", NOW, POINTS)
    assert "older than the oldest backup" in msg
    (msg,) = restore_target_problems(STANZAS, "lsn", "0/4000000", NOW)
    assert "demo-g1" in msg and "0/5000000" in msg
    (msg,) = restore_target_problems(STANZAS, "lsn", "zz", NOW)
    assert "not an LSN" in msg


def test_an_lsn_beyond_the_newest_archived_wal_is_refused():
    # segment 0x0B of log 0 ends at 0/C000000 (16 MiB segments)
    stanzas = [dict(s, archive_max="00000002000000000000000B") for s in STANZAS]
    assert restore_target_problems(stanzas, "lsn", "0/BFFFFFF", NOW) == []
    problems = restore_target_problems(stanzas, "lsn", "0/C000001", NOW)
    assert len(problems) == 2 and "beyond the newest archived WAL of stanza demo-g0" in problems[0]
    assert "segment 00000002000000000000000B ends at 0/C000000" in problems[0] and "0/3000158 .. 0/C000000" in problems[0]
    assert restore_target_problems(stanzas, "lsn", "1/0", NOW)


def test_bad_type_and_empty_repository():
    assert "restore_type must be one of" in restore_target_problems(STANZAS, "immediate", "", NOW)[0]
    assert "has no backup" in restore_target_problems([{"name": "x", "backups": []}], "latest", "", NOW)[0]
    assert restore_target_problems([], "latest", "", NOW) == ["no stanza to restore"]


def test_backup_set_ends_before_the_target():
    stanza = {"name": "demo", "backups": [
        {"label": "F", "stop": parse_time("2026-11-21 20:00:00+00"), "lsn_stop": "0/3000158"},
        {"label": "F_I1", "stop": parse_time("2026-11-21 20:50:00+00"), "lsn_stop": "0/5000000"},
        {"label": "F_I2", "stop": parse_time("2026-11-21 21:30:00+00"), "lsn_stop": "0/9000000"}]}
    # the incremental taken after the point must not be used
    assert restore_backup_set(stanza, "name", "before", POINTS) == "F_I1"
    assert restore_backup_set(stanza, "time", "2026-11-21 21:45:00+00") == "F_I2"
    assert restore_backup_set(stanza, "lsn", "0/6000000") == "F_I1"
    assert restore_backup_set(stanza, "latest", "") == ""
    with pytest.raises(AnsibleFilterError, match="no backup of stanza demo ends before"):
        restore_backup_set(stanza, "time", "2026-11-21 19:00:00+00")


CONF = "[global]\nrepo1-path=/var/lib/pgbackrest\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=%s\n\n[main]\npg1-path=/x\n"


@pytest.mark.parametrize("current, new, changed", [
    (None, "anything", False),                    # first run: nothing written yet
    ("", "anything", False),
    (CONF % "a:b\\c' \"#$%!{{ }}@/=x", "a:b\\c' \"#$%!{{ }}@/=x", False),   # every character, same value
    (CONF % "old-passphrase-1234", "new-passphrase-1234", True),
    (CONF % "old-passphrase-1234", "", True),     # encryption removed
    ("[global]\nrepo1-path=/var/lib/pgbackrest\n", "new-passphrase-1234", True),   # encryption added
    ("[global]\nrepo1-path=/var/lib/pgbackrest\n", "", False),
    (CONF.replace("repo1-cipher-pass=%s", "repo1-cipher-pass = %s ") % "same", "same", False),
])
def test_cipher_change_is_found(current, new, changed):
    assert pgbackrest_cipher_changed(current, new) is changed


def test_cipher_change_reads_the_named_repository():
    text = "[global]\nrepo1-cipher-pass=one\nrepo2-cipher-pass=two\n"
    assert not pgbackrest_cipher_changed(text, "two", repo=2)
    assert pgbackrest_cipher_changed(text, "one", repo=2)
