"""Drill probe: what clients see while a fault is injected into the cluster.

Up to three bounded loops in threads, started together:

- writer: ``INSERT`` of an increasing id through the read-write endpoint every ``interval``
  seconds (reconnecting after errors), recording when each id was acknowledged;
- reader (when a read-only endpoint is given): ``SELECT max(id)`` through the read-only endpoint
  every ``interval`` seconds; an answer is *stale* when it misses an id that was acknowledged
  more than ``stale_after`` seconds before the read started (a member that does not stream, or
  diverged, answers stale: this is the "read-only pool serves only healthy replicas" check);
- members (when members are given): ``SELECT pg_is_in_recovery()`` on every member's PostgreSQL
  directly every 0.5 s; the seconds during which two or more members answered ``false`` are the
  seconds with two writable members (split brain as clients could see it).

After ``stop()`` (or ``max_seconds``) the acknowledged ids are read back through the
read-write endpoint: ids missing there are acknowledged rows lost.

As a program: ``drill_probe.py CONFIG`` where CONFIG is a JSON file of mode 0600 (or stricter: it
holds the password, which the probe takes from nowhere else: not from its arguments nor its
environment) with keys ``rw`` (libpq keyword dict: host, port, dbname, user, password or passfile,
sslmode, sslrootcert, ...), optional ``ro`` (the same for the read-only endpoint) and ``members``
({name: address}, reached on ``member_port`` with the ``rw`` settings), ``table``, ``max_seconds``,
``interval``, ``stale_after``, ``distributed`` (Citus: hash-distribute the probe table) and
``stop_file``; it runs until ``stop_file`` exists, its directory is removed or ``max_seconds`` pass,
and prints the report (see ``Probe.report``) as one JSON object. playbooks/ops/drill.yml runs it on the
controller with every key; playbooks/ops/switchover.yml runs it on a replica host with ``rw`` only
(the longest write pause during a switchover). A CONFIG that others can read is refused. The
molecule scenarios import ``Probe``.
"""

import json
import os
import sys
import threading
import time

import psycopg2


class Probe:
    """Writer, read-only reader and member watcher over libpq keyword dicts (see module doc).

    ``rw``/``ro``: dicts for ``psycopg2.connect`` (host, port, dbname, user, password or
    passfile, sslmode, sslrootcert); ``ro`` None: no reader; ``members``: {name: dict}, none: no
    member watcher; ``table``: name of the probe table (created in the read-write database,
    emptied at start); ``interval``, ``stale_after`` and ``max_seconds`` in seconds.
    """

    def __init__(self, rw, ro, members=None, table="dpg_drill_probe", interval=0.05, stale_after=5.0,
                 max_seconds=300, distributed=False):
        self.rw, self.ro, self.members = rw, ro, dict(members or {})
        self.distributed = distributed
        self.table, self.interval, self.stale_after = table, interval, stale_after
        self.max_seconds = max_seconds
        self.acked = []          # (id, ack time)
        self.write_errors = 0
        self.reads = self.stale_reads = self.read_errors = 0
        self.stale_max_s = 0.0
        self.read_last_at = None   # time of the newest answer of the read-only endpoint
        self.two_writable = []   # sample times with two or more writable members
        self.writable_seen = {}  # member -> count of samples answering writable
        self.marks = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = []
        self._started = None

    # -- helpers -------------------------------------------------------------------------
    # A partitioned member must not block the loops: TCP gives up on unacknowledged data after 2 s.
    TCP = dict(keepalives=1, keepalives_idle=1, keepalives_interval=1, keepalives_count=2, tcp_user_timeout=2000)

    def _connect(self, params, timeout=2):
        conn = psycopg2.connect(connect_timeout=timeout, application_name="dpg-drill-probe",
                                **dict(self.TCP, **params))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = '3s'")
        return conn

    @staticmethod
    def _close(conn):
        if conn is not None:
            try:
                conn.close()
            except psycopg2.Error:
                pass

    def _running(self):
        return not self._stop.is_set() and time.time() - self._started < self.max_seconds

    # -- loops ---------------------------------------------------------------------------
    def _write_loop(self):
        i, conn = 0, None
        while self._running():
            i += 1
            try:
                if conn is None:
                    conn = self._connect(self.rw)
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO %s (id) VALUES (%%s)" % self.table, (i,))
                with self._lock:
                    self.acked.append((i, time.time()))
            except psycopg2.Error:
                self.write_errors += 1
                self._close(conn)
                conn = None
                time.sleep(0.2)
            time.sleep(self.interval)
        self._close(conn)

    def _read_loop(self):
        conn = None
        while self._running():
            started = time.time()
            with self._lock:
                due = [i for i, at in self.acked if at < started - self.stale_after]
            must_see = due[-1] if due else 0
            try:
                if conn is None:
                    conn = self._connect(self.ro)
                with conn.cursor() as cur:
                    cur.execute("SELECT coalesce(max(id), 0) FROM %s" % self.table)
                    seen = cur.fetchone()[0]
                self.reads += 1
                self.read_last_at = time.time()
                if seen < must_see:
                    self.stale_reads += 1
                    with self._lock:
                        seen_at = max([at for i, at in self.acked if i <= seen] or [self._started])
                    self.stale_max_s = max(self.stale_max_s, started - seen_at)
            except psycopg2.Error:
                # counted, not hidden: a read-only endpoint that never answers must not pass as "no stale read"
                self.read_errors += 1
                self._close(conn)
                conn = None
                time.sleep(0.2)
            time.sleep(self.interval * 4)
        self._close(conn)

    def _member_loop(self):
        conns = {}
        while self._running():
            now, writable = time.time(), 0
            for name, params in self.members.items():
                try:
                    if conns.get(name) is None:
                        conns[name] = self._connect(params, timeout=1)
                    with conns[name].cursor() as cur:
                        cur.execute("SELECT pg_is_in_recovery()")
                        if cur.fetchone()[0] is False:
                            writable += 1
                            self.writable_seen[name] = self.writable_seen.get(name, 0) + 1
                except psycopg2.Error:
                    self._close(conns.get(name))
                    conns[name] = None
            if writable >= 2:
                self.two_writable.append(now)
            time.sleep(max(0.0, 0.5 - (time.time() - now)))
        for conn in conns.values():
            self._close(conn)

    # -- control -------------------------------------------------------------------------
    def start(self, warmup=3.0):
        """Create/empty the probe table, start the loops; return after ``warmup`` seconds of writes."""
        conn = self._connect(self.rw, timeout=5)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS %s (id bigint PRIMARY KEY, at timestamptz NOT NULL "
                        "DEFAULT clock_timestamp())" % self.table)
            cur.execute("TRUNCATE %s" % self.table)
            if self.distributed:
                # Citus: hash-distribute by id so consecutive writes land on every worker group
                cur.execute("SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = %s::regclass", (self.table,))
                if cur.fetchone()[0] == 0:
                    cur.execute("SELECT create_distributed_table(%s, 'id')", (self.table,))
        conn.close()
        self._started = time.time()
        loops = [self._write_loop] + ([self._read_loop] if self.ro else []) + \
            ([self._member_loop] if self.members else [])
        for target in loops:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        time.sleep(warmup)
        return len(self.acked)

    def mark(self, name):
        """Record a moment (seconds since start) under ``name``, e.g. 'fault' and 'heal'."""
        self.marks[name] = round(time.time() - self._started, 3)

    def stop(self):
        """Stop the loops and wait until each has closed its connections."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _lost(self, timeout=30):
        """Acknowledged ids missing through the read-write endpoint (retried until ``timeout``)."""
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            try:
                conn = self._connect(self.rw, timeout=3)
                with conn.cursor() as cur:
                    cur.execute("SELECT id FROM %s" % self.table)
                    present = {r[0] for r in cur.fetchall()}
                conn.close()
                return sorted({row[0] for row in self.acked} - present)
            except psycopg2.Error as e:
                last = e
                time.sleep(1)
        raise RuntimeError("could not read the probe table back through the read-write endpoint: %s" % last)

    def report(self):
        """The figures as a dict (seconds, counts); call after ``stop()``."""
        times = [self._started] + [row[1] for row in self.acked] + [time.time()]
        gaps = [(b - a, a) for a, b in zip(times, times[1:])]
        outage, outage_at = max(gaps) if gaps else (0.0, self._started)
        two = sorted(self.two_writable)
        # samples every 0.5 s: count each sample as 0.5 s of two writable members
        lost = self._lost()
        return {
            "writes_acked": len(self.acked),
            "write_errors": self.write_errors,
            "write_outage_s": round(outage, 2),
            "write_outage_started_s": round(outage_at - self._started, 2),
            "rows_lost": len(lost),
            "rows_lost_sample": lost[:20],
            "two_writable_s": round(0.5 * len(two), 1),
            "writable_members_seen": sorted(self.writable_seen),
            "ro_reads": self.reads,
            "ro_read_errors": self.read_errors,
            # seconds since start of the newest read-only answer (null: none at all)
            "ro_last_read_s": round(self.read_last_at - self._started, 3) if self.read_last_at else None,
            "ro_stale_reads": self.stale_reads,
            "ro_stale_max_s": round(self.stale_max_s, 2),
            "marks": self.marks,
        }


def main(path):
    """Run the probe of the CONFIG file ``path`` (see the module doc); print its report as JSON."""
    with open(path) as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            sys.exit("%s holds a password and must be readable by its owner only (mode 0600), "
                     "not %o: chmod 0600 it" % (path, os.fstat(f.fileno()).st_mode & 0o777))
        cfg = json.load(f)
    members = {name: dict(cfg["rw"], host=address, port=int(cfg.get("member_port", 5432)))
               for name, address in cfg.get("members", {}).items()}
    probe = Probe(cfg["rw"], cfg.get("ro"), members, cfg.get("table", "dpg_drill_probe"),
                  float(cfg.get("interval", 0.05)), float(cfg.get("stale_after", 5)),
                  float(cfg.get("max_seconds", 300)), bool(cfg.get("distributed", False)))
    probe.start(warmup=0)
    stop_file = cfg["stop_file"]
    # stop when the stop file appears, when its directory is removed (the playbook's cleanup) or at max_seconds
    while (os.path.isdir(os.path.dirname(stop_file)) and not os.path.exists(stop_file)
           and time.time() - probe._started < probe.max_seconds):  # pylint: disable=protected-access
        time.sleep(0.2)
    probe.stop()
    print(json.dumps(probe.report()))


if __name__ == "__main__":
    main(sys.argv[1])
