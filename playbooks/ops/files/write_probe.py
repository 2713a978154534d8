"""Write probe: one INSERT every INTERVAL seconds for DURATION seconds; print JSON figures.

Usage: write_probe.py DURATION INTERVAL   (libpq settings from PG* environment variables)
Prints {"writes": n, "failed": n, "max_pause_s": s, "pause_start_s": s} where max_pause_s is the
longest time between two acknowledged writes and pause_start_s when that gap began (seconds
since the probe started).
"""

import json
import sys
import time

import psycopg2


def main():
    duration, interval = float(sys.argv[1]), float(sys.argv[2])
    start = time.time()
    last_ok = start
    worst = (0.0, 0.0)
    writes = failed = 0
    conn = None
    while time.time() - start < duration:
        try:
            if conn is None:
                conn = psycopg2.connect(connect_timeout=2, application_name="dpg-write-probe")
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("CREATE TABLE IF NOT EXISTS dpg_write_probe (id bigserial PRIMARY KEY, "
                                "at timestamptz NOT NULL DEFAULT now())")
            with conn.cursor() as cur:
                cur.execute("SET statement_timeout = '3s'")
                cur.execute("INSERT INTO dpg_write_probe DEFAULT VALUES")
            now = time.time()
            if now - last_ok > worst[0]:
                worst = (now - last_ok, last_ok - start)
            last_ok = now
            writes += 1
        except psycopg2.Error:
            failed += 1
            if conn is not None:
                try:
                    conn.close()
                except psycopg2.Error:
                    pass
            conn = None
        time.sleep(interval)
    print(json.dumps({"writes": writes, "failed": failed, "max_pause_s": round(worst[0], 3),
                      "pause_start_s": round(worst[1], 3)}))


if __name__ == "__main__":
    main()
