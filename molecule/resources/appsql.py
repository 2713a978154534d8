"""The application role's SQL as a user sends it: through a scenario's published balancer port on
127.0.0.1, as dpg_app with the scenario's generated password, verify-full against the scenario's CA.

The scenario's lab directory (DPG_LAB_DIR) holds the secrets (secrets/<name>) and the CA (ca.crt).
"""

import os

import psycopg2


def secret(name):
    """The scenario's generated secret ``name`` (first word of DPG_LAB_DIR/secrets/<name>)."""
    with open(os.path.join(os.environ["DPG_LAB_DIR"], "secrets", name)) as f:
        return f.read().split()[0]


def connect(port, timeout=5, user="dpg_app", secret_name="app", dbname="dpg"):
    """A psycopg2 connection to 127.0.0.1:``port`` with sslmode verify-full."""
    return psycopg2.connect(host="127.0.0.1", port=port, dbname=dbname, user=user, password=secret(secret_name),
                            sslmode="verify-full", sslrootcert=os.path.join(os.environ["DPG_LAB_DIR"], "ca.crt"),
                            connect_timeout=timeout)


def sql(port, statement, args=None, autocommit=False, timeout=5):
    """Run one statement in its own connection (a transaction unless ``autocommit``); its rows or None."""
    conn = connect(port, timeout=timeout)
    try:
        if autocommit:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement, args)
                return cur.fetchall() if cur.description else None
        with conn, conn.cursor() as cur:
            cur.execute(statement, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()
