"""pgbackrest_info and module_utils/_pgbackrest.py against canned `pgbackrest --output=json info` documents.

The documents follow pgBackRest 2.55.1 (src/command/info/info.c and test/src/module/command/infoTest.c).
The module's main() runs with a fake run_command; nothing is executed.
"""

import copy
import json

import pytest
from ansible.module_utils import basic

from ansible_collections.dpg.cluster.plugins.module_utils import _pgbackrest
from ansible_collections.dpg.cluster.plugins.modules import pgbackrest_info

from tests.unit.helpers import run_module

NOW = 1763800000  # 2025-11-22 08:26:40 UTC
FULL_STOP = 1763758805
INCR_STOP = 1763780460

DEMO = {
    "archive": [
        {"database": {"id": 1, "repo-key": 1}, "id": "17-1",
         "max": "000000010000000000000009", "min": "000000010000000000000001"},
    ],
    "backup": [
        {"archive": {"start": "000000010000000000000003", "stop": "000000010000000000000003"},
         "backrest": {"format": 5, "version": "2.55.1"}, "database": {"id": 1, "repo-key": 1},
         "error": False,
         "info": {"delta": 23716935, "repository": {"delta": 2979015, "size": 2979015}, "size": 23716935},
         "label": "20251121-210000F", "link": None, "lsn": {"start": "0/3000028", "stop": "0/3000158"},
         "prior": None, "reference": None, "tablespace": None,
         "timestamp": {"start": 1763758800, "stop": FULL_STOP}, "type": "full"},
        {"archive": {"start": "000000010000000000000008", "stop": "000000010000000000000008"},
         "backrest": {"format": 5, "version": "2.55.1"}, "database": {"id": 1, "repo-key": 1},
         "error": True,
         "info": {"delta": 8405, "repository": {"delta": 1201, "size": 2980216}, "size": 23725340},
         "label": "20251121-210000F_20251122-030100I", "link": None,
         "lsn": {"start": "0/8000028", "stop": "0/8000100"},
         "prior": "20251121-210000F", "reference": ["20251121-210000F"], "tablespace": None,
         "timestamp": {"start": 1763780460 - 12, "stop": INCR_STOP}, "type": "incr"},
    ],
    "cipher": "aes-256-cbc",
    "db": [{"id": 1, "repo-key": 1, "system-id": 7312345678901234567, "version": "17"}],
    "name": "demo",
    "repo": [{"cipher": "aes-256-cbc", "key": 1, "status": {"code": 0, "message": "ok"}}],
    "status": {"code": 0, "lock": {"backup": {"held": False}}, "message": "ok"},
}

# a stanza created but never backed up: the current database's archive entry has no segments yet
CITUS = {
    "archive": [{"database": {"id": 1, "repo-key": 1}, "id": "17-1", "max": None, "min": None}],
    "backup": [],
    "cipher": "none",
    "db": [{"id": 1, "repo-key": 1, "system-id": 7312345678901234999, "version": "17"}],
    "name": "citus",
    "repo": [{"cipher": "none", "key": 1, "status": {"code": 2, "message": "no valid backups"}}],
    "status": {"code": 2, "lock": {"backup": {"held": False}}, "message": "no valid backups"},
}

# as printed for `--stanza=nope` when the repository has no such stanza (infoTest.c)
MISSING = {
    "archive": [], "backup": [], "cipher": "none", "db": [], "name": "nope",
    "repo": [{"cipher": "none", "key": 1, "status": {"code": 1, "message": "missing stanza path"}}],
    "status": {"code": 1, "lock": {"backup": {"held": False}}, "message": "missing stanza path"},
}


# ---- module_utils/_pgbackrest.py ---------------------------------------------------------------

def test_info_command_argv():
    assert _pgbackrest.info_command("/usr/bin/pgbackrest") == ["/usr/bin/pgbackrest", "--output=json", "info"]
    assert _pgbackrest.info_command("/usr/bin/pgbackrest", "/etc/pgbackrest/x.conf", "demo") == [
        "/usr/bin/pgbackrest", "--config=/etc/pgbackrest/x.conf", "--stanza=demo", "--output=json", "info"]


def test_two_stanzas_summarized():
    out = _pgbackrest.summarize(_pgbackrest.parse_info_output(json.dumps([CITUS, DEMO])), NOW)
    assert out["stanza_names"] == ["citus", "demo"]
    citus, demo = out["stanzas"]

    assert demo["name"] == "demo"
    assert demo["status"] == {"code": 0, "message": "ok"}
    assert demo["cipher"] == "aes-256-cbc"
    assert demo["backup_running"] is False and demo["backup_progress"] is None
    assert demo["db"] == [{"id": 1, "system_id": 7312345678901234567, "version": "17"}]
    assert [b["label"] for b in demo["backups"]] == ["20251121-210000F", "20251121-210000F_20251122-030100I"]
    assert demo["backups"][0] == {
        "label": "20251121-210000F", "type": "full", "prior": None, "start": 1763758800, "stop": FULL_STOP,
        "duration_seconds": 5, "size": 23716935, "delta": 23716935, "repo_size": 2979015, "repo_delta": 2979015,
        "wal_start": "000000010000000000000003", "wal_stop": "000000010000000000000003",
        "lsn_start": "0/3000028", "lsn_stop": "0/3000158", "error": False}
    incr = demo["backups"][1]
    assert incr["type"] == "incr" and incr["prior"] == "20251121-210000F"
    assert incr["duration_seconds"] == 12 and incr["delta"] == 8405 and incr["repo_delta"] == 1201
    assert incr["error"] is True
    assert demo["newest_backup"] == "20251121-210000F_20251122-030100I"
    assert demo["newest_backup_age_seconds"] == NOW - INCR_STOP == 19540
    assert demo["oldest_backup_stop"] == FULL_STOP
    assert demo["oldest_backup_lsn_stop"] == "0/3000158"
    assert demo["archive"] == [{"id": "17-1", "min": "000000010000000000000001", "max": "000000010000000000000009"}]
    assert demo["archive_max"] == "000000010000000000000009"

    assert citus["status"] == {"code": 2, "message": "no valid backups"}
    assert citus["backups"] == [] and citus["cipher"] == "none"
    assert citus["newest_backup"] is None and citus["newest_backup_age_seconds"] is None
    assert citus["oldest_backup_stop"] is None and citus["oldest_backup_lsn_stop"] is None
    assert citus["archive"] == [{"id": "17-1", "min": None, "max": None}]
    assert citus["archive_max"] is None
    json.dumps(out)  # plain data only


def test_backups_sorted_oldest_first_and_age_uses_now():
    doc = copy.deepcopy(DEMO)
    doc["backup"].reverse()
    stanza = _pgbackrest.summarize_stanza(doc, NOW + 0.9)
    assert [b["type"] for b in stanza["backups"]] == ["full", "incr"]
    assert stanza["newest_backup_age_seconds"] == NOW - INCR_STOP  # float now is truncated
    assert _pgbackrest.summarize_stanza(doc, INCR_STOP + 3600)["newest_backup_age_seconds"] == 3600


def test_absent_keys_become_null():
    backup = {"label": "20251121-210000F", "type": "full", "timestamp": {"start": 10}}
    stanza = _pgbackrest.summarize_stanza({"name": "old", "backup": [backup]}, NOW)
    b = stanza["backups"][0]
    assert b["stop"] is None and b["duration_seconds"] is None
    assert b["lsn_start"] is None and b["lsn_stop"] is None and b["error"] is False
    assert b["repo_size"] is None and b["size"] is None and b["wal_start"] is None
    assert stanza["status"] == {"code": None, "message": None}
    assert stanza["backup_running"] is False and stanza["backup_progress"] is None
    assert stanza["db"] == [] and stanza["archive"] == [] and stanza["archive_max"] is None
    assert stanza["newest_backup"] == "20251121-210000F" and stanza["newest_backup_age_seconds"] is None
    assert _pgbackrest.summarize_stanza({}, NOW)["name"] is None
    assert _pgbackrest.summarize([{}], NOW)["stanza_names"] == []


def test_block_incremental_backup_has_no_repo_size():
    doc = copy.deepcopy(DEMO)
    doc["backup"][1]["info"]["repository"] = {"delta": 1201, "delta-map": 310, "size-map": 620}
    assert _pgbackrest.summarize_stanza(doc, NOW)["backups"][1]["repo_size"] is None


def test_backup_progress():
    doc = copy.deepcopy(DEMO)
    doc["status"]["lock"]["backup"] = {"held": True, "size": 3159000, "size-cplt": 1435765}
    stanza = _pgbackrest.summarize_stanza(doc, NOW)
    assert stanza["backup_running"] is True
    assert stanza["backup_progress"] == 45.45
    # held, size not known yet
    assert _pgbackrest.backup_progress({"lock": {"backup": {"held": True}}}) is None
    assert _pgbackrest.backup_progress({"lock": {"backup": {"held": True, "size": 0, "size-cplt": 0}}}) is None
    assert _pgbackrest.backup_progress({"lock": {"backup": {"size": 100, "size-cplt": 100}}}) == 100.0
    assert _pgbackrest.backup_progress(None) is None


def test_archive_max_is_that_of_the_current_database():
    """After a stanza-upgrade (PostgreSQL 16 -> 17) db id 2 is current; the archive of id 1 has newer names."""
    doc = copy.deepcopy(DEMO)
    doc["db"] = [{"id": 1, "repo-key": 1, "system-id": 7000000000000000001, "version": "16"},
                 {"id": 2, "repo-key": 1, "system-id": 7312345678901234567, "version": "17"}]
    doc["archive"] = [
        {"database": {"id": 1, "repo-key": 1}, "id": "16-1", "min": "000000020000000000000001",
         "max": "0000000200000000000000FF"},
        {"database": {"id": 2, "repo-key": 1}, "id": "17-2", "min": "000000010000000000000001",
         "max": "000000010000000000000004"},
    ]
    stanza = _pgbackrest.summarize_stanza(doc, NOW)
    assert stanza["archive_max"] == "000000010000000000000004"
    assert [a["id"] for a in stanza["archive"]] == ["16-1", "17-2"]
    assert [d["version"] for d in stanza["db"]] == ["16", "17"]


def test_missing_stanza():
    stanza = _pgbackrest.summarize_stanza(MISSING, NOW)
    assert _pgbackrest.is_missing(stanza)
    assert not _pgbackrest.is_missing(_pgbackrest.summarize_stanza(CITUS, NOW))
    assert _pgbackrest.missing_stanza_message("nope", ["citus", "demo"]) == (
        "stanza nope is not in the repository; stanzas there: citus, demo (run playbooks/backup.yml to create it)")
    assert "stanzas there: none" in _pgbackrest.missing_stanza_message("nope", [])
    assert "could not be listed" in _pgbackrest.missing_stanza_message("nope", None)


@pytest.mark.parametrize("text", ["", "ERROR: [055]: unable to load info file", "[1, 2]", '{"name": "demo"}', None])
def test_parse_rejects_what_is_not_a_stanza_list(text):
    with pytest.raises(ValueError, match="pgbackrest info --output=json"):
        _pgbackrest.parse_info_output(text)


def test_parse_accepts_an_empty_repository():
    assert _pgbackrest.parse_info_output("[]\n") == []
    assert _pgbackrest.summarize([], NOW) == {"stanzas": [], "stanza_names": []}


# ---- the module, with a fake pgbackrest ---------------------------------------------------------

class FakePgBackRest(object):
    """Answers run_command as `pgbackrest ... --output=json info` would, from a list of stanza objects."""

    def __init__(self, stanzas):
        self.stanzas = stanzas
        self.calls = []
        self.rc = 0
        self.stdout = None
        self.stderr = ""
        self.fail_unfiltered = False

    def run_command(self, argv, **kwargs):
        assert isinstance(argv, list), "argv list, no shell"
        assert not kwargs.get("use_unsafe_shell")
        self.calls.append(argv)
        stanza = [a.split("=", 1)[1] for a in argv if a.startswith("--stanza=")]
        if self.rc or (self.fail_unfiltered and not stanza):
            return self.rc or 28, "", self.stderr
        if self.stdout is not None:
            return 0, self.stdout, ""
        if stanza:
            found = [s for s in self.stanzas if s["name"] == stanza[0]]
            doc = found or [dict(copy.deepcopy(MISSING), name=stanza[0])]
        else:
            doc = self.stanzas
        return 0, json.dumps(doc), ""


@pytest.fixture
def pgbr(monkeypatch):
    fake = FakePgBackRest([CITUS, DEMO])
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, arg, required=False, opt_dirs=None:
                        "/usr/bin/" + arg)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: fake.run_command(argv, **kw))
    monkeypatch.setattr(pgbackrest_info.time, "time", lambda: float(NOW))
    return fake


def test_module_reports_every_stanza(pgbr):
    res, failed = run_module(pgbackrest_info.main, {})
    assert not failed, res
    assert res["changed"] is False
    assert res["stanza_names"] == ["citus", "demo"]
    demo = res["stanzas"][1]
    assert demo["newest_backup_age_seconds"] == NOW - INCR_STOP
    assert demo["backups"][1]["prior"] == "20251121-210000F"
    assert pgbr.calls == [["/usr/bin/pgbackrest", "--output=json", "info"]]


def test_module_one_stanza_with_config_in_check_mode(pgbr):
    res, failed = run_module(pgbackrest_info.main, {"stanza": "demo", "config": "/etc/pgbackrest/repo2.conf"},
                             check_mode=True)
    assert not failed, res
    assert res["changed"] is False and res["stanza_names"] == ["demo"]
    assert pgbr.calls == [["/usr/bin/pgbackrest", "--config=/etc/pgbackrest/repo2.conf", "--stanza=demo",
                           "--output=json", "info"]]


def test_module_missing_stanza_fails_naming_those_there(pgbr):
    res, failed = run_module(pgbackrest_info.main, {"stanza": "nope"})
    assert failed
    assert res["msg"] == ("stanza nope is not in the repository; stanzas there: citus, demo "
                          "(run playbooks/backup.yml to create it)")
    assert res["stanzas"][0]["status"] == {"code": 1, "message": "missing stanza path"}
    assert pgbr.calls[1] == ["/usr/bin/pgbackrest", "--output=json", "info"]


def test_module_missing_stanza_when_listing_fails_too(pgbr):
    pgbr.fail_unfiltered = True
    pgbr.stderr = "ERROR: [028]: repo timeout"
    res, failed = run_module(pgbackrest_info.main, {"stanza": "nope"})
    assert failed
    assert res["msg"].startswith("stanza nope is not in the repository; the stanzas there could not be listed")


def test_module_missing_stanza_returned_without_fail_on_missing(pgbr):
    res, failed = run_module(pgbackrest_info.main, {"stanza": "nope", "fail_on_missing": False})
    assert not failed, res
    assert res["stanza_names"] == ["nope"]
    assert res["stanzas"][0]["status"]["code"] == 1 and res["stanzas"][0]["backups"] == []
    assert len(pgbr.calls) == 1


def test_module_nonzero_exit(pgbr):
    pgbr.rc = 28
    pgbr.stderr = "ERROR: [028]: unable to connect to 'pgbackrest-server': Connection refused\n"
    res, failed = run_module(pgbackrest_info.main, {"stanza": "demo"})
    assert failed
    assert res["rc"] == 28 and "Connection refused" in res["stderr"]
    assert "exited with 28: ERROR: [028]: unable to connect" in res["msg"]
    assert "/etc/pgbackrest.conf" in res["msg"] and "become_user: postgres" in res["msg"]
    assert "Traceback" not in res["msg"]


def test_module_bad_json(pgbr):
    pgbr.stdout = "stanza: demo\n    status: ok\n"
    res, failed = run_module(pgbackrest_info.main, {})
    assert failed
    assert "did not print JSON" in res["msg"] and "stanza: demo" in res["msg"]
    assert "/etc/pgbackrest.conf" in res["msg"]


def test_module_without_pgbackrest(pgbr, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, arg, required=False, opt_dirs=None: None)
    res, failed = run_module(pgbackrest_info.main, {})
    assert failed and "pgbackrest is not installed" in res["msg"] and "install" in res["msg"]
    assert pgbr.calls == []


def test_documentation_matches_argument_spec():
    import yaml  # pylint: disable=import-outside-toplevel
    doc = yaml.safe_load(pgbackrest_info.DOCUMENTATION)
    assert set(doc["options"]) == {"stanza", "config", "fail_on_missing"}
    assert doc["options"]["fail_on_missing"]["default"] is True
    ret = yaml.safe_load(pgbackrest_info.RETURN)
    assert set(ret) == {"stanzas", "stanza_names"}
    keys = set(_pgbackrest.summarize_stanza(DEMO, NOW))
    assert set(ret["stanzas"]["contains"]) == keys
    assert set(ret["stanzas"]["contains"]["backups"]["contains"]) == set(_pgbackrest.summarize_backup({}))


def test_module_undecodable_output_is_a_clean_failure(tmp_path, monkeypatch):
    """A wrong passphrase makes pgBackRest quote what it decrypted: bytes that are not UTF-8. The module's
    result must stay valid UTF-8 (the controller refuses surrogates) and say what to do."""
    stand_in = tmp_path / "pgbackrest"
    stand_in.write_bytes(b"#!/bin/sh\nprintf 'ERROR: [029]: unable to load info file: \\377\\376\\372garbage\\n' >&2\n"
                         b"exit 29\n")
    stand_in.chmod(0o755)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, arg, required=False, opt_dirs=None:
                        str(stand_in))
    res, failed = run_module(pgbackrest_info.main, {"stanza": "demo"})
    assert failed and res["rc"] == 29
    for field in ("msg", "stderr"):
        res[field].encode("utf-8")   # no surrogates left: raises UnicodeEncodeError otherwise
    assert "unable to load info file" in res["msg"] and "garbage" in res["msg"]
    assert "dpg_backup_cipher_pass" in res["msg"] and "put that value back" in res["msg"]
    assert "Traceback" not in res["msg"]
