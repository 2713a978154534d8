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

# libpq sslmode values (PostgreSQL docs, "SSL Support").
SSL_MODES = ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')

POSTGRES_ARGSPEC = dict(
    login_host=dict(type='str'),
    login_port=dict(type='int', default=5432),
    login_user=dict(type='str', default='postgres'),
    login_password=dict(type='str', no_log=True),
    login_db=dict(type='str', default='postgres'),
    login_unix_socket=dict(type='str'),
    connect_timeout=dict(type='int', default=10),
    ssl_mode=dict(type='str', default='prefer', choices=list(SSL_MODES)),
    ca_cert=dict(type='path', aliases=['ssl_rootcert']),
    ssl_cert=dict(type='path'),
    ssl_key=dict(type='path', no_log=False),
)


class ModuleFailure(Exception):
    """Raised by a module's body to end it in ``fail_json``: ``msg`` plus extra result keys.

    :param msg: what is wrong and what to do.
    :param extra: more keys for the failed result (e.g. the state read so far).
    """

    def __init__(self, msg, **extra):
        super(ModuleFailure, self).__init__(msg)
        self.extra = extra


def connection_kwargs(params):
    """Keyword arguments for ``psycopg2.connect`` from the module's connection options.

    :param params: dict with the POSTGRES_ARGSPEC keys (missing optional keys are fine).
    :returns: dict: user, dbname, port, connect_timeout, application_name, sslmode, and host,
        password, sslrootcert, sslcert, sslkey when given (the socket directory wins over
        login_host, as in community.postgresql).
    """
    kwargs = dict(user=params['login_user'], dbname=params['login_db'], port=params['login_port'],
                  connect_timeout=params['connect_timeout'], application_name='dpg.cluster',
                  sslmode=params.get('ssl_mode') or 'prefer')
    host = params.get('login_unix_socket') or params.get('login_host')
    if host:
        kwargs['host'] = host
    if params.get('login_password'):
        kwargs['password'] = params['login_password']
    for option, keyword in (('ca_cert', 'sslrootcert'), ('ssl_cert', 'sslcert'), ('ssl_key', 'sslkey')):
        if params.get(option):
            kwargs[keyword] = params[option]
    return kwargs


class Session(object):
    """One autocommit connection; ``execute`` records what it ran.

    :param params: module params including the POSTGRES_ARGSPEC options.
    :param connect: the connect function (``psycopg2.connect``; tests pass a fake).
    :raises psycopg2.Error: when the server cannot be reached or refuses the login.
    :attr queries: statements run (rendered, with bound values), in order.
    :attr current: the statement running or last run, for error messages.
    """

    def __init__(self, params, connect=None):
        self.queries = []
        self.current = None
        self.conn = (connect or psycopg2.connect)(**connection_kwargs(params))
        self.conn.autocommit = True

    def render(self, query, args=None):
        """The statement as the server receives it (str)."""
        cur = self.conn.cursor()
        try:
            rendered = cur.mogrify(query, args)
            return rendered.decode('utf-8') if isinstance(rendered, bytes) else rendered
        finally:
            cur.close()

    def execute(self, query, args=None, record=True):
        """Run one statement; return its rows (list of tuples) or [] when it returns none."""
        cur = self.conn.cursor()
        try:
            rendered = cur.mogrify(query, args)
            self.current = rendered.decode('utf-8') if isinstance(rendered, bytes) else rendered
            if record:
                self.queries.append(self.current)
            cur.execute(query, args)
            return cur.fetchall() if cur.description is not None else []
        finally:
            cur.close()

    def close(self):
        """Close the connection; a connection already lost is not an error here."""
        try:
            self.conn.close()
        except Exception:  # pylint: disable=broad-except
            pass


def alter_system_statement(name):
    """``ALTER SYSTEM SET "<name>" = %s`` with the setting name quoted as an identifier.

    The value is left as a parameter for :meth:`Session.execute` to bind.
    """
    return sql.SQL('ALTER SYSTEM SET {} = %s').format(sql.Identifier(name))


def run_statements(module, session, steps):
    """Run ``steps`` (a list of ``(sql, args)``) in order; in check mode only record them, rendered.

    A server error propagates to :func:`run_module`, which names the statement.
    """
    for query, args in steps:
        if module.check_mode:
            session.queries.append(session.render(query, args))
        else:
            session.execute(query, args)


def rollback_quietly(session):
    """Roll back a transaction the session opened with BEGIN (autocommit connection), on a raw cursor so
    that ``session.current`` still names the statement that failed. A lost connection is not an error here:
    the server rolled back itself."""
    try:
        if session.conn.get_transaction_status() != 0:  # TRANSACTION_STATUS_IDLE is 0
            cur = session.conn.cursor()
            try:
                cur.execute('ROLLBACK')
            finally:
                cur.close()
    except Exception:  # pylint: disable=broad-except
        pass


def _error_class(error):
    return type(error).__name__


def describe_error(error, statement, params):
    """The failure message for a psycopg2 error (str): what failed, the server's words, what to check.

    :param error: the psycopg2.Error raised.
    :param statement: the statement that was running (str) or None while connecting.
    :param params: the module params (login_user, login_db, login_host, login_port).
    """
    text = str(error).strip() or _error_class(error)
    where = '%s@%s:%s/%s' % (params.get('login_user'), params.get('login_unix_socket') or params.get('login_host')
                             or 'local socket', params.get('login_port'), params.get('login_db'))
    if statement is None:
        return ('cannot connect to PostgreSQL as %s: %s. Check that the server runs and listens there, the '
                'password, pg_hba.conf, and with TLS ssl_mode / ca_cert / ssl_cert / ssl_key.' % (where, text))
    pgcode = getattr(error, 'pgcode', None)
    if pgcode == '57014':
        hint = ('the statement was cancelled (statement_timeout or lock_timeout): the server was busy or a '
                'lock was held; re-run when it is free')
    elif pgcode in ('42883', '3F000') and 'citus' in text.lower():
        hint = 'Citus is not installed in database %s: CREATE EXTENSION citus first' % params.get('login_db')
    elif pgcode is None or pgcode.startswith('08') or pgcode.startswith('57P'):
        hint = ('the connection to %s was lost (a failover, restart or network fault during the run?): check '
                'the cluster and re-run; the module only acts on differences it reads again' % where)
    elif pgcode.startswith('42'):
        hint = 'the statement is not valid on this server (a missing object or privilege)'
    else:
        hint = 'the server refused it (SQLSTATE %s)' % pgcode
    return '%s failed: %s -- %s' % (statement, text, hint)


def run_module(module, body, connect=True):
    """The frame every PostgreSQL module runs in: connect, run ``body``, report, close.

    :param module: the AnsibleModule (params include POSTGRES_ARGSPEC).
    :param body: ``body(session)`` -> result dict (``session`` is None when ``connect`` is
        false); it raises :class:`ModuleFailure` for refusals.
    :param connect: open the session before the body (bool).
    Every psycopg2 error, while connecting, reading or writing, ends in ``fail_json`` with the
    statement, the server's message and what to check (:func:`describe_error`); the result
    always carries ``queries``; the session is always closed. Never returns.
    """
    if connect and not HAS_PSYCOPG2:
        module.fail_json(msg='psycopg2 is required on the host that runs this module '
                             '(Debian: python3-psycopg2)', exception=PSYCOPG2_IMPORT_ERROR)
    session = None
    try:
        if connect:
            try:
                session = Session(module.params)
            except DatabaseError as e:
                module.fail_json(msg=describe_error(e, None, module.params), queries=[])
        result = body(session)
    except ModuleFailure as e:
        extra = dict(e.extra)
        extra.setdefault('queries', session.queries if session else [])
        _close(session)
        module.fail_json(msg=str(e), **extra)
    except DatabaseError as e:
        _close(session)
        module.fail_json(msg=describe_error(e, session.current if session else None, module.params),
                         queries=session.queries if session else [])
    except Exception as e:  # pylint: disable=broad-except
        # a defect of the module itself: still a failed result with the statement, not a crash
        _close(session)
        module.fail_json(msg='unexpected %s while %s: %s -- please report it with the queries below'
                             % (type(e).__name__, 'running ' + session.current if session and session.current
                                else 'preparing the statements', e),
                         queries=session.queries if session else [], exception=traceback.format_exc())
    _close(session)
    result.setdefault('queries', session.queries if session else [])
    module.exit_json(**result)


def _close(session):
    if session is not None:
        session.close()
