# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patroni REST API client and the pure decisions made on its answers.

Everything except :class:`PatroniClient` is pure (no I/O) so it can be unit tested with
plain dictionaries shaped like Patroni's ``GET /cluster`` and ``GET /config`` answers
(Patroni 4.0, ``patroni/api.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url
from ansible_collections.dpg.cluster.plugins.module_utils._settings import same_setting

DEFAULT_API_URL = 'http://127.0.0.1:8008'
"""REST API used when a task gives neither ``api_url`` nor ``config_file``."""

API_OPTIONS = ('api_url', 'api_username', 'api_password', 'validate_certs', 'ca_path', 'client_cert', 'client_key')
"""Client options that ``config_file`` can supply; the task's values win."""

PATRONI_API_ARGSPEC = dict(
    config_file=dict(type='path'),
    api_url=dict(type='str'),
    api_username=dict(type='str'),
    api_password=dict(type='str', no_log=True),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    api_timeout=dict(type='int', default=10),
)

LEADER_ROLES = ('leader', 'master', 'primary', 'standby_leader')
REPLICA_ROLES = ('replica', 'sync_standby', 'quorum_standby')


class PatroniError(Exception):
    """A Patroni REST call failed; ``status`` is the HTTP code (None when unreachable)."""

    def __init__(self, message, status=None, body=None):
        super(PatroniError, self).__init__(message)
        self.status = status
        self.body = body


class PatroniClient(object):
    """Minimal client of one member's REST API.

    :param base_url: ``http(s)://host:port`` of a member, no trailing path.
    :param username, password: Basic credentials (``restapi.authentication``); Patroni asks for
        them on unsafe methods (POST, PATCH, PUT, DELETE) only.
    :param timeout: seconds per request.
    Every request is appended to :attr:`requests` as ``"METHOD /path"`` for the module's report.
    """

    def __init__(self, base_url, username=None, password=None, validate_certs=True,
                 ca_path=None, client_cert=None, client_key=None, timeout=10):
        self.base_url = base_url.rstrip('/')
        self.username = username
        self.password = password
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.timeout = timeout
        self.requests = []

    @classmethod
    def from_module(cls, module):
        """Build a client from a module whose argument_spec includes PATRONI_API_ARGSPEC.

        With ``config_file`` the settings come from Patroni's configuration (see
        :func:`read_config_file` and :func:`api_options_from_config`); options set in the task win.
        Without it, ``api_url`` defaults to :data:`DEFAULT_API_URL`. A password read from the file is
        added to ``module.no_log_values`` so Ansible masks it in every result and log.

        :raises PatroniError: when ``config_file`` cannot be read, is not YAML or has no ``restapi`` section.
        """
        p = module.params
        if p.get('config_file'):
            opts = api_options_from_config(read_config_file(p['config_file']), p)
            if opts['api_password'] and opts['api_password'] != p.get('api_password'):
                module.no_log_values.add(opts['api_password'])
        else:
            opts = dict((k, p.get(k)) for k in API_OPTIONS)
        return cls(opts['api_url'] or DEFAULT_API_URL, opts['api_username'], opts['api_password'],
                   opts['validate_certs'], opts['ca_path'], opts['client_cert'], opts['client_key'],
                   p['api_timeout'])

    def request(self, method, path, body=None, ok=(200,), timeout=None):
        """Send one request; return ``(status, parsed JSON or text)``.

        :param timeout: seconds to wait for the answer (int); the client's own timeout when None.
        :raises PatroniError: when the member is unreachable or answers a status not in ``ok``.
        """
        self.requests.append('%s %s' % (method, path))
        data = None
        headers = {'Accept': 'application/json'}
        if body is not None:
            data = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        auth = {}
        if self.username and method not in ('GET', 'HEAD', 'OPTIONS'):
            auth = dict(url_username=self.username, url_password=self.password,
                        force_basic_auth=True)
        try:
            resp = open_url(self.base_url + path, data=data, headers=headers, method=method,
                            timeout=timeout or self.timeout, validate_certs=self.validate_certs,
                            ca_path=self.ca_path, client_cert=self.client_cert,
                            client_key=self.client_key, **auth)
            status, raw = resp.getcode(), resp.read()
        except HTTPError as e:
            status = e.code
            try:
                raw = e.read()
            except Exception:  # pylint: disable=broad-except
                raw = b''
        except (URLError, OSError, ValueError) as e:
            raise PatroniError('cannot reach Patroni at %s%s: %s. Check api_url (or restapi.connect_address in '
                               'config_file), that Patroni runs there and, with https, ca_path / validate_certs / '
                               'client_cert' % (self.base_url, path, e))
        text = raw.decode('utf-8', 'replace') if isinstance(raw, bytes) else (raw or '')
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        if status not in ok:
            hint = ''
            if status == 401:
                hint = ' -- check api_username / api_password (Patroni restapi.authentication)'
            elif status == 403:
                hint = ' -- Patroni refused this client (restapi.allowlist or a client certificate)'
            elif status >= 500:
                hint = ' -- Patroni could not do it now; read its log and the cluster state, then re-run'
            raise PatroniError('%s %s answered HTTP %s: %s%s' % (method, path, status, text.strip()[:500], hint),
                               status=status, body=parsed)
        return status, parsed

    def cluster(self):
        """``GET /cluster``: members of this member's group (dict)."""
        return self.request('GET', '/cluster')[1] or {}

    def config(self):
        """``GET /config``: the dynamic configuration kept in the DCS (dict)."""
        return self.request('GET', '/config')[1] or {}


def read_config_file(path):
    """Patroni's YAML configuration file at ``path`` as a dict, as ``patronictl -c`` reads it.

    :param path: path of the file on the managed host (for example ``/etc/patroni/config.yml``).
    :returns: the parsed mapping (dict).
    :raises PatroniError: when PyYAML is missing, or the file cannot be read, is not YAML or not a mapping.
        The message names the file (and the line of a YAML error), never its content.
    """
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise PatroniError('config_file needs PyYAML on the managed host: install python3-yaml there, or set '
                           'api_url, api_username and api_password instead of config_file')
    try:
        with open(path, 'rb') as f:
            data = yaml.safe_load(f)
    except (IOError, OSError) as e:
        raise PatroniError('cannot read Patroni configuration %s: %s. Run the task on a Patroni member, with '
                           'become (the file is readable by postgres and root only)' % (path, e.strerror or e))
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        where = ' (line %d)' % (mark.line + 1) if mark is not None else ''
        raise PatroniError('Patroni configuration %s is not valid YAML%s; check the file Patroni runs with'
                           % (path, where))
    if not isinstance(data, dict):
        raise PatroniError('Patroni configuration %s is not a YAML mapping; check the file Patroni runs with' % path)
    return data


def _section(parent, key):
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _text(value):
    return None if value is None else str(value)


def api_options_from_config(config, params):
    """REST API client options from Patroni's configuration ``config`` (dict), under the task's ``params``.

    Pure: reads no file. ``params`` is the module's parameters (only the keys in :data:`API_OPTIONS` are used).

    :returns: dict with the keys of :data:`API_OPTIONS` (``api_url``, ``api_username``, ``api_password``,
        ``validate_certs``, ``ca_path``, ``client_cert``, ``client_key``). From the file:

        - ``api_url``: ``https`` when ``restapi.certfile`` is set, else ``http``; host and port of
          ``restapi.connect_address`` (``[v6]:port`` kept as is), else ``127.0.0.1`` and the port of
          ``restapi.listen``;
        - ``ca_path``: ``ctl.cacert``, else ``restapi.cafile``;
        - ``client_cert`` / ``client_key``: ``ctl.certfile`` / ``ctl.keyfile`` (None when absent);
        - ``api_username`` / ``api_password``: ``ctl.authentication``, else ``restapi.authentication``;
        - ``validate_certs``: false when ``ctl.insecure`` is true.

        A value the task sets (not None) wins over the file's; ``validate_certs`` false in the task wins too.
    :raises PatroniError: when ``config`` has no ``restapi`` section, or the URL is needed and neither
        ``restapi.connect_address`` nor a port in ``restapi.listen`` gives it. Messages never hold a credential.
    """
    restapi = config.get('restapi')
    if not isinstance(restapi, dict):
        raise PatroniError('the Patroni configuration has no restapi section; point config_file at the file '
                           'Patroni runs with (patroni.service: /etc/patroni/config.yml)')
    ctl = _section(config, 'ctl')
    auth = ctl.get('authentication') if isinstance(ctl.get('authentication'), dict) \
        else _section(restapi, 'authentication')
    derived = {
        'api_username': _text(auth.get('username')),
        'api_password': _text(auth.get('password')),
        'ca_path': ctl.get('cacert') or restapi.get('cafile') or None,
        'client_cert': ctl.get('certfile') or None,
        'client_key': ctl.get('keyfile') or None,
    }
    out = dict((key, params.get(key) if params.get(key) is not None else value) for key, value in derived.items())
    out['api_url'] = params.get('api_url') or _url_from_restapi(restapi)
    insecure = boolean(ctl.get('insecure', False), strict=False)
    out['validate_certs'] = params.get('validate_certs', True) is not False and not insecure
    return out


def _url_from_restapi(restapi):
    """``scheme://host:port`` of the member's REST API from its ``restapi`` section."""
    scheme = 'https' if restapi.get('certfile') else 'http'
    address = str(restapi.get('connect_address') or '').strip()
    if not address:
        listen = str(restapi.get('listen') or '').strip()
        port = listen.rsplit(':', 1)[-1]
        if not port.isdigit():
            raise PatroniError('the Patroni configuration has neither restapi.connect_address nor a port in '
                               'restapi.listen (%r); set restapi.connect_address (host:port), or api_url' % listen)
        address = '127.0.0.1:' + port
    return '%s://%s' % (scheme, address)


def normalize_cluster(cluster):
    """Summarise a ``GET /cluster`` answer.

    :param cluster: dict with ``members`` (list of dicts with name, role, state, host, port,
        timeline, lag (bytes or 'unknown'), pending_restart, tags) and optional ``pause``.
    :returns: dict with ``leader`` (name or None), ``replicas`` (list of replica member dicts),
        ``members`` (list of dicts with name, role, state, host, port, timeline, lag_bytes
        (int or None), pending_restart (bool), tags), ``paused`` (bool), ``timeline``.
    """
    members = []
    leader = None
    timeline = None
    for m in cluster.get('members', []):
        lag = m.get('lag', m.get('receive_lag'))
        lag_bytes = lag if isinstance(lag, int) else None
        role = m.get('role')
        if role in LEADER_ROLES:
            leader = m.get('name')
            timeline = m.get('timeline')
            lag_bytes = 0
        members.append(dict(name=m.get('name'), role=role, state=m.get('state'),
                            host=m.get('host'), port=m.get('port'), timeline=m.get('timeline'),
                            lag_bytes=lag_bytes, pending_restart=bool(m.get('pending_restart')),
                            tags=m.get('tags', {})))
    return dict(leader=leader, timeline=timeline, members=members,
                replicas=[m for m in members if m['role'] in REPLICA_ROLES],
                paused=bool(cluster.get('pause')))


def health_problems(summary, replicas=None, max_lag=None):
    """Say what keeps a cluster from being healthy.

    :param summary: output of :func:`normalize_cluster`.
    :param replicas: number of streaming replicas required; None means every non-leader member.
    :param max_lag: largest lag in bytes a replica may have to count; None means any.
    :returns: list of human-readable problems; empty when healthy.
    """
    problems = []
    if not summary['leader']:
        problems.append('no leader')
    else:
        leader = [m for m in summary['members'] if m['name'] == summary['leader']][0]
        if leader['state'] != 'running':
            problems.append('leader %s is %s' % (leader['name'], leader['state']))
    wanted = replicas if replicas is not None else len(summary['members']) - 1
    good = []
    for m in summary['replicas']:
        if m['state'] != 'streaming':
            problems.append('replica %s is %s' % (m['name'], m['state']))
        elif max_lag is not None and (m['lag_bytes'] is None or m['lag_bytes'] > max_lag):
            problems.append('replica %s lags %s bytes (limit %s)' % (m['name'], m['lag_bytes'], max_lag))
        else:
            good.append(m['name'])
    if len(good) < wanted:
        problems.append('%d of %d required replicas streaming' % (len(good), wanted))
    return problems


def config_patch(current, desired):
    """Smallest deep-merge patch that turns ``current`` into ``current`` merged with ``desired``.

    Patroni's ``PATCH /config`` deep-merges dicts and deletes keys whose value is null; this
    returns only the keys whose value differs (None deletes a key that exists).
    Scalars are compared with :func:`_settings.same_setting`, so ``'on'``/``True``,
    ``'30'``/``30`` and ``4GB``/``4096MB`` match the way Patroni and PostgreSQL store them.

    :param current: dict from ``GET /config``.
    :param desired: dict of wanted settings (nested dicts allowed).
    :returns: dict (empty when nothing differs).
    """
    patch = {}
    for key, want in desired.items():
        have = current.get(key) if isinstance(current, dict) else None
        if want is None:
            if isinstance(current, dict) and key in current:
                patch[key] = None
            continue
        if isinstance(want, dict):
            sub = config_patch(have if isinstance(have, dict) else {}, want)
            if sub or not isinstance(have, dict):
                patch[key] = sub if isinstance(have, dict) else want
        elif not same_setting(have, want):
            patch[key] = want
    return patch


def deep_merge(base, patch):
    """Apply a Patroni-style patch (None deletes) to a deep copy of ``base``; return it."""
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
