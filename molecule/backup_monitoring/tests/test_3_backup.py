"""backup_monitoring scenario, last: pgBackRest on a repository host, then the restore drill an operator would run.

Everything goes through what a user runs: SQL through the balancer's published read-write port
(127.0.0.1:DPG_RW_PORT) as the application role with verify-full, and the collection's playbooks
(backup.yml, restore_point.yml, restore.yml, site.yml) against the scenario's inventory. The tests
run in file order and share one cluster: backups, a named point, an accident, the restore, the
checks, a restore to latest of an unharmed cluster, replica re-creation, and a re-run of site.yml.
"""

import json
import os
import re
import sys
import threading
import time

import psycopg2
import pytest
import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
import appsql  # noqa: E402  pylint: disable=wrong-import-position
from adhoc import module, playbook, why  # noqa: E402  pylint: disable=wrong-import-position
from drill import report, wait  # noqa: E402  pylint: disable=wrong-import-position

RW_PORT = int(os.environ.get("DPG_RW_PORT", "35000"))
NODES = os.environ.get("DPG_PG_NODES", "mol-bk-pg1,mol-bk-pg2,mol-bk-pg3").split(",")
REPO = os.environ.get("DPG_REPO_HOST", "mol-bk-ops1")
STANZA = "dpg-lab"
STATE = {}


def _sql(statement, args=None):
    return appsql.sql(RW_PORT, statement, args)


def _checksums():
    """{table: (rows, md5 of every row in key order)} of the drill's tables that exist."""
    out = {}
    for (table,) in _sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bk\\_%' ORDER BY 1"):
        out[table] = tuple(_sql("SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) FROM %s t" % table)[0])
    return out


def _members():
    for name in NODES:
        cmd = testinfra.get_host("docker://" + name).run("patronictl -c /etc/patroni/config.yml list -f json")
        if cmd.rc == 0:
            return json.loads(cmd.stdout)
    raise AssertionError("no member answered patronictl")


def _whole():
    members = _members()
    leaders = [m for m in members if m["Role"] == "Leader" and m["State"] == "running"]
    streaming = [m for m in members if m["Role"] in ("Replica", "Sync Standby") and m["State"] == "streaming"]
    return len(leaders) == 1 and len(streaming) == len(NODES) - 1


def _info():
    res = module(REPO, "dpg.cluster.pgbackrest_info", {"stanza": STANZA}, become_user="postgres")
    assert not res.get("failed"), res
    return res["stanzas"][0]


def _play(path, *extra):
    started = time.time()
    rc, changed, out = playbook(path, *extra)
    return rc, changed, out, time.time() - started


def _lines(out, prefix):
    """Lines of the playbook output starting with ``prefix``; the callback folds long messages, unfold them."""
    flat = re.sub(r"\n\s+", " ", out)
    return [m.group(0).strip().rstrip("'") for m in re.finditer(r"%s[^\"'\n]*" % re.escape(prefix), flat)]


def test_archiving_works_and_the_first_full_backup_exists():
    stanza = _info()
    assert stanza["status"]["code"] == 0, stanza["status"]
    assert stanza["cipher"] == "aes-256-cbc"
    full = [b for b in stanza["backups"] if b["type"] == "full"]
    assert full, stanza["backups"]
    assert stanza["archive_max"], stanza["archive"]
    repo = testinfra.get_host("docker://" + REPO)
    # the passphrase is on the repository host only, and the repository is encrypted: no readable WAL
    for node in NODES:
        assert "cipher-pass" not in testinfra.get_host("docker://" + node).file("/etc/pgbackrest.conf").content_string
    assert repo.file("/etc/pgbackrest.conf").mode == 0o640
    check = repo.run("runuser -u postgres -- pgbackrest --stanza=%s check" % STANZA)
    assert check.rc == 0, check.stderr
    timers = repo.run("systemctl list-timers --all --no-legend 'pgbackrest-*'").stdout
    for kind in ("full", "diff", "incr"):
        assert "pgbackrest-%s@%s.timer" % (kind, STANZA) in timers, timers
    report("BACKUP first full (site.yml): %s s, database %.1f MiB, stored %.2f MiB"
           % (full[0]["duration_seconds"], full[0]["size"] / 1048576.0, full[0]["repo_delta"] / 1048576.0))


def test_full_and_incremental_backups_with_data():
    _sql("CREATE TABLE bk_orders (id int PRIMARY KEY, body text NOT NULL)")
    _sql("INSERT INTO bk_orders SELECT i, md5(i::text) FROM generate_series(1, 200000) i")
    # polled every second: the progress loop runs at least once
    rc, _changed, out, took = _play("playbooks/ops/backup.yml", "-e", "backup_type=full", "-e", "backup_poll_interval=1")
    assert rc == 0, why(out)
    full = _lines(out, "BACKUP %s" % STANZA)
    assert full and " full:" in full[0], out[-3000:]
    _sql("INSERT INTO bk_orders SELECT i, md5(i::text) FROM generate_series(200001, 220000) i")
    _sql("CREATE TABLE bk_items (id int PRIMARY KEY, order_id int NOT NULL, qty int NOT NULL)")
    _sql("INSERT INTO bk_items SELECT i, 1 + i % 1000, i % 7 FROM generate_series(1, 50000) i")
    rc, _changed, out2, took2 = _play("playbooks/ops/backup.yml", "-e", "backup_type=incr")
    assert rc == 0, out2[-3000:]
    incr = _lines(out2, "BACKUP %s" % STANZA)
    assert incr and " incr:" in incr[0], out2[-3000:]
    report("%s (playbook %.1f s)" % (full[0], took))
    report("%s (playbook %.1f s)" % (incr[0], took2))
    labels = [b["label"] for b in _info()["backups"]]
    assert labels[-1].endswith("I") and labels[-2].endswith("F"), labels


def test_rpo_with_the_default_archive_timeout():
    """Writes for 70 s, one a second; the newest archived WAL is never more than archive_timeout behind."""
    leader = [m["Member"] for m in _members() if m["Role"] == "Leader"][0]
    node = testinfra.get_host("docker://" + leader)
    worst, deadline = 0.0, time.time() + 70
    _sql("CREATE TABLE IF NOT EXISTS bk_rpo (id serial PRIMARY KEY, at timestamptz DEFAULT now())")
    while time.time() < deadline:
        _sql("INSERT INTO bk_rpo DEFAULT VALUES")
        age = node.check_output("psql -h /var/run/postgresql -U postgres -XAtc "
                                "\"SELECT extract(epoch FROM now() - last_archived_time) FROM pg_stat_archiver\"")
        worst = max(worst, float(age))
        time.sleep(1)
    report("RPO observed: newest archived WAL at most %.1f s behind the primary over 70 s of writes (archive_timeout 60 s)" % worst)
    assert worst <= 60 + 15, worst


def test_restore_point_then_an_accident():
    STATE["before"] = _checksums()
    assert set(STATE["before"]) >= {"bk_orders", "bk_items"}
    rc, _changed, out, _took = _play("playbooks/ops/restore_point.yml", "-e", "restore_point_name=drill_1")
    assert rc == 0, why(out)
    assert _lines(out, "RESTORE POINT drill_1"), out[-3000:]
    # the accident, after the point
    _sql("DROP TABLE bk_items")
    _sql("DELETE FROM bk_orders WHERE id % 2 = 0")
    assert _checksums() != STATE["before"]
    # a backup after the point (as the hourly timer would take): the restore must not start from it
    rc, _changed, out, _took = _play("playbooks/ops/backup.yml", "-e", "backup_type=incr")
    assert rc == 0, why(out)


@pytest.mark.parametrize("extra, message", [
    ((), "restore_confirm=true"),
    (("-e", "restore_confirm=true", "-e", "restore_type=time", "-e", "restore_target='2020-01-01 00:00:00+00'"),
     "before the end of the oldest backup; the range that can be restored is"),
    (("-e", "restore_confirm=true", "-e", "restore_type=time", "-e", "restore_target='2099-01-01 00:00:00+00'"),
     "is in the future"),
    (("-e", "restore_confirm=true", "-e", "restore_type=name", "-e", "restore_target=never_made"),
     "was not recorded by playbooks/ops/restore_point.yml; recorded points: drill_1"),
    (("-e", "restore_confirm=true", "-e", "restore_stanza=nope"), "is not a stanza of this inventory"),
])
def test_bad_restore_requests_change_nothing(extra, message):
    leader = [m["Member"] for m in _members() if m["Role"] == "Leader"]
    rc, changed, out, _took = _play("playbooks/ops/restore.yml", *extra)
    flat = re.sub(r"\s+", " ", out)
    assert rc != 0
    assert message in flat, out[-3000:]
    assert "Nothing was changed" in flat
    assert changed == 0
    assert [m["Member"] for m in _members() if m["Role"] == "Leader"] == leader and _whole()


def _writer(results, stop):
    """Insert through the balancer every 0.5 s; record when the first insert after a failed one succeeds."""
    started, failed, i = time.time(), False, 0
    while not stop.is_set():
        i += 1
        try:
            _sql("INSERT INTO bk_orders VALUES (%s, 'around the restore')", (10 ** 8 + i,))
            if failed:
                results["first_write"] = time.time() - started
                return
        except psycopg2.Error:
            failed = True
        time.sleep(0.5)


def test_restore_to_the_named_point():
    results, stop = {}, threading.Event()
    # the writer starts with the playbook: writes fail while the cluster is down, then succeed
    writer = threading.Thread(target=_writer, args=(results, stop), daemon=True)
    started = time.time()
    writer.start()
    rc, _changed, out, took = _play("playbooks/ops/restore.yml", "-e", "restore_confirm=true", "-e", "restore_type=name",
                                    "-e", "restore_target=drill_1")
    writer.join(timeout=120)
    stop.set()
    assert rc == 0, why(out)
    for line in _lines(out, "RESTORE %s" % STANZA):
        report(line)
    assert "first_write" in results, "no write through 127.0.0.1:%d was accepted after the restore" % RW_PORT
    report("RESTORE drill: writes accepted through :%d %.1f s after restore.yml started (playbook %.1f s in all)"
           % (RW_PORT, results["first_write"], took))
    STATE["restore_s"] = time.time() - started
    assert wait(_whole, 120), _members()
    # the restored data: every table as it was at the point (the writer's row aside)
    _sql("DELETE FROM bk_orders WHERE id >= %s", (10 ** 8,))
    after = _checksums()
    lost = {t: STATE["before"][t][0] - after.get(t, (0, ""))[0] for t in STATE["before"]}
    report("RESTORE drill: rows lost relative to the point: %s" % lost)
    assert after == STATE["before"], (after, STATE["before"])


def test_replicas_are_restored_from_the_repository_and_fall_back_to_basebackup():
    """patronictl reinit of a replica: a pgBackRest delta restore; without a usable repository, pg_basebackup.

    For the fallback the replica's pgBackRest configuration names no repository host for the
    duration, so the pgbackrest method fails at once (an unreachable repository host also falls
    back, after pgBackRest's connection retries, about 3 minutes) and both copies are timed alike.
    """
    replica = [m["Member"] for m in _members() if m["Role"] != "Leader"][0]
    node = testinfra.get_host("docker://" + replica)
    conf = "/etc/pgbackrest.conf"
    timings = {}
    for how in ("pgbackrest", "basebackup"):
        if how == "basebackup":
            node.check_output("cp -p %s %s.drill && printf '[global]\\nrepo1-path=/var/lib/pgbackrest\\n' > %s" % (conf, conf, conf))
        try:
            since = node.check_output("date '+%Y-%m-%d %H:%M:%S'")
            started = time.time()
            cmd = node.run("patronictl -c /etc/patroni/config.yml reinit %s %s --force --wait" % (STANZA, replica))
            assert cmd.rc == 0, cmd.stdout + cmd.stderr
            assert wait(_whole, 180), _members()
            timings[how] = time.time() - started
            log = node.check_output("journalctl -u patroni --no-pager -o cat --since '%s'" % since)
        finally:
            if how == "basebackup":
                node.check_output("mv %s.drill %s" % (conf, conf))
        assert "replica has been created using %s" % how in log, log[-3000:]
    report("REPLICA re-created from the repository (pgBackRest delta restore) in %.1f s, with pg_basebackup from the "
           "leader in %.1f s (patronictl reinit until streaming)" % (timings["pgbackrest"], timings["basebackup"]))


def test_restore_to_latest_of_an_unharmed_cluster_loses_nothing():
    _sql("CREATE TABLE bk_marker (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
    _sql("INSERT INTO bk_marker (id) SELECT generate_series(1, 1000)")
    before = _checksums()
    rc, _changed, out, took = _play("playbooks/ops/restore.yml", "-e", "restore_confirm=true", "-e", "restore_type=latest")
    assert rc == 0, why(out)
    assert wait(_whole, 120), _members()
    assert _checksums() == before
    report("RESTORE latest of an unharmed cluster: playbook %.1f s, 0 rows lost of %d tables" % (took, len(before)))


def test_scheduled_backup_follows_the_primary_after_a_switchover():
    """The timer's unit, started by hand after a switchover, backs up from the new primary unchanged."""
    # synchronous_mode: Patroni names a synchronous standby a loop after the replicas stream, and
    # refuses a switchover without a candidate until then (HTTP 412 "can not find sync_standby")
    assert wait(lambda: _whole() and any(m["Role"] == "Sync Standby" for m in _members()), 120), _members()
    old = [m["Member"] for m in _members() if m["Role"] == "Leader"][0]
    # no candidate: with synchronous_mode Patroni hands over to its synchronous standby, whichever it is now
    res = module(old, "dpg.cluster.patroni_cluster", {"config_file": "/etc/patroni/config.yml", "operation": "switchover"})
    assert not res.get("failed") and res.get("leader") not in (None, old), res.get("msg", res)
    new = res["leader"]
    assert wait(lambda: [m["Member"] for m in _members() if m["Role"] == "Leader"] == [new] and _whole(), 120), _members()
    before = [b["label"] for b in _info()["backups"]]
    repo = testinfra.get_host("docker://" + REPO)
    started = time.time()
    run = repo.run("systemctl start pgbackrest-incr@%s.service" % STANZA)
    assert run.rc == 0, run.stderr + repo.run("journalctl -u pgbackrest-incr@%s -n 30 --no-pager" % STANZA).stdout
    after = _info()["backups"]
    assert len(after) == len(before) + 1 and after[-1]["type"] == "incr", (before, after)
    report("BACKUP scheduled unit after a switchover %s -> %s: %s in %.1f s, no reconfiguration"
           % (old, new, after[-1]["label"], time.time() - started))


def test_site_rerun_changes_nothing_after_the_restores():
    rc, changed, out, took = _play("playbooks/site.yml")
    assert rc == 0, why(out)
    assert changed == 0, "\n".join(line for line in out.splitlines() if line.startswith("changed:"))
    report("site.yml re-run after the restores: %.1f s, 0 changed" % took)
    _sql("INSERT INTO bk_marker (id) VALUES (1001)")
