"""A bounded write loop for failover drills, shared by the molecule scenarios' tests.

The loop writes through a balancer port in a thread. The drill marks the moment it kills
something; the loop records the first failed write after that ("down") and the first write
that started after that failure and was acknowledged ("up"). up - kill is the time until writes
work again, which is what a client sees.
"""

import os
import threading
import time

import psycopg2


def report(line):
    """Print a drill figure and append it to DPG_REPORT_FILE when set (the pytest wrapper shows it)."""
    print(line)
    path = os.environ.get("DPG_REPORT_FILE")
    if path:
        with open(path, "a") as f:
            f.write(line.strip() + "\n")


def wait(predicate, timeout, step=0.5):
    """Poll predicate() until it is true (errors count as false); True when it got there in time."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - a drill polls through errors until its deadline
            pass
        time.sleep(step)
    return False


class WriteLoop:
    """Write with ``insert(cursor, i)`` (returns the acknowledged key) over ``connect()`` connections.

    Bounded: it stops by itself after ``max_seconds``. Between writes it sleeps ``pause`` seconds.
    """

    def __init__(self, connect, insert, max_seconds=150, pause=0.02):
        self.connect, self.insert = connect, insert
        self.max_seconds, self.pause = max_seconds, pause
        self.acked, self.errors, self.marks = [], [], {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i, conn = 0, None
        deadline = time.time() + self.max_seconds
        while not self._stop.is_set() and time.time() < deadline:
            i += 1
            started = time.time()
            try:
                if conn is None:
                    conn = self.connect()
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("SET statement_timeout = '3s'")
                    self.acked.append(self.insert(cur, i))
                if "down" in self.marks and "up" not in self.marks and started > self.marks["down"]:
                    self.marks["up"] = time.time()
            except psycopg2.Error as e:
                if "kill" in self.marks and "down" not in self.marks:
                    self.marks["down"] = time.time()
                self.errors.append(str(e).strip()[:120])
                if conn is not None:
                    try:
                        conn.close()
                    except psycopg2.Error:
                        pass
                conn = None
                time.sleep(0.2)
            time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def start(self, warmup=3):
        """Start writing; return after ``warmup`` seconds of writes."""
        self._thread.start()
        time.sleep(warmup)
        return len(self.acked)

    def mark_kill(self):
        self.marks["kill"] = time.time()

    def wait_resumed(self, timeout):
        """True when writes failed after the kill and then worked again within ``timeout`` seconds."""
        return wait(lambda: "up" in self.marks, timeout, step=0.2)

    def stop(self, settle=2):
        time.sleep(settle)
        self._stop.set()
        self._thread.join()

    @property
    def resumed_after(self):
        """Seconds from the kill to the first acknowledged write that started after a failure."""
        return self.marks["up"] - self.marks["kill"]

    @property
    def first_failure_after(self):
        return self.marks["down"] - self.marks["kill"]
