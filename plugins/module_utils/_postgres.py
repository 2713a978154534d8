# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connection for dpg.cluster modules (psycopg2), with the SQL they ran recorded.

Identifiers are composed with ``psycopg2.sql.Identifier`` and values are always passed as
query parameters; :class:`Session` records each statement, rendered, in :attr:`Session.queries`
for the modules' ``queries`` return value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

PSYCOPG2_IMPORT_ERROR = None
try:
    import psycopg2
    from psycopg2 import sql
    HAS_PSYCOPG2 = True
except ImportError:
    psycopg2 = None
    sql = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

# The exception psycopg2 raises for any server or connection error (a stand-in when it is missing).
DatabaseError = psycopg2.Error if HAS_PSYCOPG2 else RuntimeError

POSTGRES_ARGSPEC = dict(
    login_host=dict(type='str'),
    login_port=dict(type='int', default=5432),
    login_user=dict(type='str', default='postgres'),
    login_password=dict(type='str', no_log=True),
    login_db=dict(type='str', default='postgres'),
    login_unix_socket=dict(type='str'),
    connect_timeout=dict(type='int', default=10),
)


class Session(object):
    """One autocommit connection; ``execute`` records what it ran.

    :param params: module params including the POSTGRES_ARGSPEC options.
    :raises psycopg2.Error: when the server cannot be reached or refuses the login.
    """

    def __init__(self, params):
        kwargs = dict(user=params['login_user'], dbname=params['login_db'],
                      port=params['login_port'], connect_timeout=params['connect_timeout'],
                      application_name='dpg.cluster')
        host = params.get('login_unix_socket') or params.get('login_host')
        if host:
            kwargs['host'] = host
        if params.get('login_password'):
            kwargs['password'] = params['login_password']
        self.conn = psycopg2.connect(**kwargs)
        self.conn.autocommit = True
        self.queries = []

    def render(self, query, args=None):
        """The statement as the server receives it (str)."""
        cur = self.conn.cursor()
        try:
            return cur.mogrify(query, args).decode('utf-8')
        finally:
            cur.close()

    def execute(self, query, args=None, record=True):
        """Run one statement; return its rows (list of tuples) or [] when it returns none."""
        cur = self.conn.cursor()
        try:
            if record:
                self.queries.append(cur.mogrify(query, args).decode('utf-8'))
            cur.execute(query, args)
            return cur.fetchall() if cur.description is not None else []
        finally:
            cur.close()

    def close(self):
        self.conn.close()


def alter_system_statement(name):
    """``ALTER SYSTEM SET "<name>" = %s`` with the setting name quoted as an identifier.

    The value is left as a parameter for :meth:`Session.execute` to bind.
    """
    return sql.SQL('ALTER SYSTEM SET {} = %s').format(sql.Identifier(name))


def run_statements(module, session, steps, **fail_extra):
    """Run ``steps`` (a list of ``(sql, args)``) in order; in check mode only record them, rendered.

    On a server error the session is closed and the module fails with the statement, the error,
    the statements run so far (``queries``) and ``fail_extra``.
    """
    for query, args in steps:
        if module.check_mode:
            session.queries.append(session.render(query, args))
            continue
        try:
            session.execute(query, args)
        except DatabaseError as e:
            msg = '%s failed: %s' % (session.render(query, args), str(e).strip())
            session.close()
            module.fail_json(msg=msg, queries=session.queries, **fail_extra)


def connect_or_fail(module):
    """Open a :class:`Session` or end the module with a message saying what to check."""
    if not HAS_PSYCOPG2:
        module.fail_json(msg='psycopg2 is required on the host that runs this module '
                             '(Debian: python3-psycopg2)', exception=PSYCOPG2_IMPORT_ERROR)
    try:
        return Session(module.params)
    except psycopg2.Error as e:
        module.fail_json(msg='cannot connect to PostgreSQL as %s to database %s: %s'
                             % (module.params['login_user'], module.params['login_db'], str(e).strip()))
