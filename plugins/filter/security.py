# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security decisions made once, tested, and called by the roles and playbooks instead of Jinja copies.

The pg_hba.conf lines Patroni writes (least privilege: each user to its own databases, replication and
pg_rewind only from the members, everything else rejected), and the subject alternative names a host's
TLS certificate must carry, with a check of a ready-made certificate against them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.dpg.cluster.plugins.filter.grants import PROFILES

# A name pg_hba.conf reads as itself without quotes; anything else is written in double quotes.
_PLAIN_NAME = re.compile(r'[a-z_][a-z0-9_$]*\Z')
# Words pg_hba.conf reads as keywords in the database or user field unless quoted.
_HBA_KEYWORDS = frozenset(('all', 'sameuser', 'samerole', 'samegroup', 'replication'))
# PostgreSQL's NAMEDATALEN - 1: longer names are truncated by the server and would never match.
_MAX_NAME_BYTES = 63
_LOOPBACK = '127.0.0.1/32'


def _hba_name(name, what):
    """``name`` (str) as a pg_hba.conf token: bare when a plain lower-case identifier, else double-quoted.

    ``what`` says where the name comes from, for the error. Raises AnsibleFilterError for an empty name,
    one containing a double quote, whitespace or a control character, or one longer than 63 bytes.
    """
    if not isinstance(name, str) or name == '':
        raise AnsibleFilterError('pg_hba: %s must be a non-empty string, got %r' % (what, name))
    if '"' in name or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise AnsibleFilterError('pg_hba: %s %r contains a double quote, whitespace or a newline, which pg_hba.conf '
                                 'cannot express; rename it' % (what, name))
    if len(name.encode('utf-8')) > _MAX_NAME_BYTES:
        raise AnsibleFilterError('pg_hba: %s %r is longer than %d bytes, PostgreSQL would truncate it; shorten it'
                                 % (what, name, _MAX_NAME_BYTES))
    if _PLAIN_NAME.match(name) and name not in _HBA_KEYWORDS:
        return name
    return '"%s"' % name


def _cidr(value, what):
    """``value`` as a normalized CIDR (str): host bits cleared, IPv6 compressed. Raises AnsibleFilterError."""
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=False))
    except ValueError:
        raise AnsibleFilterError('pg_hba: %s %r is not an IPv4 or IPv6 network (CIDR such as 10.0.0.0/24); '
                                 'correct it' % (what, value))


def _list(value, what):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError('pg_hba: %s must be a list, got %r' % (what, value))
    return list(value)


def _logs_in(user):
    """Whether ``user`` (a dpg_users entry) can log in: ``login`` (default true) and no NOLOGIN flag."""
    try:
        login = boolean(user.get('login', True), strict=True)
    except TypeError:
        raise AnsibleFilterError('pg_hba: login of user %s must be a boolean, got %r'
                                 % (user['name'], user.get('login')))
    flags = re.split(r'[\s,]+', str(user.get('role_attr_flags') or '').upper())
    return login and 'NOLOGIN' not in flags


def pg_hba(users, client_networks, member_addresses, superuser='postgres', replication_user='replicator',
           rewind_user='rewind_user', citus=False, tls=True, extra=None):
    """The lines of pg_hba.conf (list of str, fields separated by one space) for Patroni's ``postgresql.pg_hba``.

    ``users``: the inventory's ``dpg_users``, list of dicts ``{name, databases: [str], profile: owner | readwrite
    | readonly (optional), login: bool (default true), ...}``; users that cannot log in (``login: false`` or
    ``NOLOGIN`` in ``role_attr_flags``) get no line. ``client_networks``: CIDRs (IPv4 or IPv6) clients come from;
    ``member_addresses``: CIDRs of the cluster's members (see member_addresses). Networks are written normalized
    (``10.0.0.5/24`` as ``10.0.0.0/24``). ``extra``: the operator's own lines (list of str), kept verbatim.

    In order (first match wins), with ``hostssl`` when ``tls`` else ``host``: the superuser over the local socket
    by peer (pg_ident map ``dpg_superuser``); the ``extra`` lines; each login user to its databases over the
    socket (PgBouncer); from 127.0.0.1/32 and each member: replication as ``replication_user``, database postgres
    as ``rewind_user``, and with ``citus`` every database as the superuser and each login user to its databases
    (Citus connects between nodes as the superuser and as the client's role); each login user to its databases
    from 127.0.0.1/32 and each client network; then everything else rejected (socket, IPv4, IPv6).
    Authentication is scram-sha-256. Names that are not plain lower-case identifiers, or are pg_hba keywords,
    are double-quoted. Duplicate lines are dropped (the first is kept).

    Raises AnsibleFilterError when ``users``, ``client_networks``, ``member_addresses`` or ``extra`` is not a
    list, for a user without a name, a login user without databases, an unknown profile, a user named like the
    superuser, replication or rewind user (Patroni manages those), a name pg_hba.conf cannot hold (double quote,
    whitespace, over 63 bytes), a network that is not a CIDR, an extra line that is not a non-empty single-line
    string, or a ``login``, ``tls`` or ``citus`` that is not a boolean.
    """
    if not isinstance(users, (list, tuple)):
        raise AnsibleFilterError('pg_hba: users (dpg_users) must be a list of {name, databases, profile}, got %r'
                                 % (users,))
    try:
        tls, citus = boolean(tls, strict=True), boolean(citus, strict=True)
    except TypeError:
        raise AnsibleFilterError('pg_hba: tls and citus must be booleans, got %r and %r' % (tls, citus))
    kind = 'hostssl' if tls else 'host'
    su = _hba_name(superuser, 'the superuser name')
    repl = _hba_name(replication_user, 'the replication user name')
    rewind = _hba_name(rewind_user, 'the rewind user name')
    managed = {superuser: ('superuser', 'superuser'), replication_user: ('replication user', 'replication'),
               rewind_user: ('rewind user', 'rewind')}

    logins = []
    for user in users:
        if not isinstance(user, dict) or not user.get('name'):
            raise AnsibleFilterError('pg_hba: every entry of dpg_users needs a name, got an entry without one')
        name = user['name']
        if name in managed:
            what, var = managed[name]
            raise AnsibleFilterError('pg_hba: user %s of dpg_users is the %s, which Patroni creates and manages; '
                                     'remove it from dpg_users (its password is dpg_%s_password)' % (name, what, var))
        profile = user.get('profile')
        if profile is not None and profile not in PROFILES:
            raise AnsibleFilterError('pg_hba: user %s has profile %r; use one of %s'
                                     % (name, profile, ', '.join(sorted(PROFILES))))
        role = _hba_name(name, 'user name')
        if not _logs_in(user):
            continue
        databases = user.get('databases')
        if not isinstance(databases, (list, tuple)) or not databases:
            raise AnsibleFilterError('pg_hba: user %s can log in but has no databases: give it databases (a list '
                                     'of database names), or login: false' % name)
        dbs = ','.join(_hba_name(db, 'database of user %s' % name) for db in databases)
        logins.append((role, dbs))

    extra_lines = []
    for line in _list(extra, 'extra (patroni_pg_hba_extra)'):
        if not isinstance(line, str) or not line.strip() or '\n' in line or '\r' in line:
            raise AnsibleFilterError('pg_hba: every extra line (patroni_pg_hba_extra) must be one non-empty line of '
                                     'pg_hba.conf, got %r' % (line,))
        extra_lines.append(line)

    members = [_LOOPBACK] + [_cidr(a, 'member address') for a in _list(member_addresses, 'member_addresses')]
    networks = [_LOOPBACK] + [_cidr(n, 'client network (patroni_allowed_networks)')
                              for n in _list(client_networks, 'client_networks (patroni_allowed_networks)')]

    lines = ['local all %s peer map=dpg_superuser' % su]
    lines.extend(extra_lines)
    for role, dbs in logins:
        lines.append('local %s %s scram-sha-256' % (dbs, role))
    for addr in members:
        lines.append('%s replication %s %s scram-sha-256' % (kind, repl, addr))
        lines.append('%s postgres %s %s scram-sha-256' % (kind, rewind, addr))
        if citus:
            lines.append('%s all %s %s scram-sha-256' % (kind, su, addr))
            for role, dbs in logins:
                lines.append('%s %s %s %s scram-sha-256' % (kind, dbs, role, addr))
    for role, dbs in logins:
        for net in networks:
            lines.append('%s %s %s %s scram-sha-256' % (kind, dbs, role, net))
    lines.extend(['local all all reject', 'host all all 0.0.0.0/0 reject', 'host all all ::/0 reject'])

    out, seen = [], set()
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


# Subject alternative names: 'DNS:<name>' or 'IP:<address>'.

def _ip(value):
    """``value`` as a normalized IP address (str, an IPv6 zone dropped: certificates cannot carry it), or None."""
    text = str(value)
    if ':' in text:
        text = text.split('%', 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _san(value, what, explicit=True, fname='tls_subject_alt_names'):
    """``value`` (str) as ``(type, value)``, type ``DNS`` or ``IP``, the IP normalized, the name without a final dot.

    With ``explicit`` a ``DNS:`` or ``IP:`` prefix (any case) decides the type; a bare value is an IP when it
    parses as one, else a name. Raises AnsibleFilterError, naming ``what``, for an empty value, whitespace in
    it, an ``IP:`` that is no address or a bare value with a colon that is no address.
    """
    text = str(value).strip()
    kind = None
    if explicit and ':' in text:
        prefix, rest = text.split(':', 1)
        if prefix.upper() in ('DNS', 'IP'):
            kind, text = prefix.upper(), rest.strip()
    if not text or any(ch.isspace() for ch in text):
        raise AnsibleFilterError('%s: %s %r is empty or contains whitespace; correct it' % (fname, what, value))
    addr = _ip(text)
    if kind == 'IP' and addr is None:
        raise AnsibleFilterError('%s: %s %r is not an IP address; correct it or write DNS:<name>'
                                 % (fname, what, value))
    if kind is None and addr is None and ':' in text:
        raise AnsibleFilterError('%s: %s %r is neither a DNS name nor an IP address; write DNS:<name> or '
                                 'IP:<address>' % (fname, what, value))
    if kind == 'DNS' or (kind is None and addr is None):
        return 'DNS', text.rstrip('.') or text
    return 'IP', addr


def _key(kind, value):
    return (kind, value.lower() if kind == 'DNS' else value)


def _host_values(name, hostvars):
    """The names and addresses of inventory host ``name`` (list of (str, what)), before classification."""
    if not isinstance(name, str) or not name.strip():
        raise AnsibleFilterError('tls_subject_alt_names: an inventory host name is empty, got %r' % (name,))
    if name not in hostvars:
        raise AnsibleFilterError('tls_subject_alt_names: host %r is not in the inventory' % (name,))
    hv = hostvars[name]
    facts = hv.get('ansible_facts') or {}
    values = [(name, 'the inventory name of %s' % name)]
    for key in ('ansible_host', 'dpg_address'):
        values.append((hv.get(key), '%s of %s' % (key, name)))
    for key in ('hostname', 'fqdn'):
        values.append((facts.get(key), 'ansible_facts.%s of %s' % (key, name)))
    values.append(((facts.get('default_ipv4') or {}).get('address'),
                   'ansible_facts.default_ipv4.address of %s' % name))
    return [(v, what) for v, what in values if v is not None and str(v).strip() != '']


def tls_subject_alt_names(host, hostvars, also=None, extra=None):
    """The subjectAltName entries the certificate of inventory host ``host`` (str) must carry (list of str).

    Each entry is ``DNS:<name>`` or ``IP:<address>``, without duplicates (names compared case-insensitively,
    addresses normalized), in this order: ``host``'s inventory name, ``ansible_host`` and ``dpg_address`` when
    set, the facts ``ansible_facts.hostname``, ``ansible_facts.fqdn`` and ``ansible_facts.default_ipv4.address``
    when gathered; ``localhost`` and ``127.0.0.1``; the same names and addresses (not localhost) of each
    inventory host of ``also`` (list of str, e.g. the balancers in front of PgBouncer); each entry of ``extra``
    (list of str: ``DNS:<name>``, ``IP:<address>`` or a bare value). Values that parse as IP addresses are IP
    entries, other values names.

    Raises AnsibleFilterError for a host (``host`` or in ``also``) not in ``hostvars`` or with an empty name,
    ``also`` or ``extra`` not a list, or a value that is empty, contains whitespace, or is given as ``IP:`` and
    is no address.
    """
    for arg, label in ((also, 'also'), (extra, 'extra')):
        if arg is not None and not isinstance(arg, (list, tuple)):
            raise AnsibleFilterError('tls_subject_alt_names: %s must be a list, got %r' % (label, arg))
    values = _host_values(host, hostvars)
    values += [('localhost', 'localhost'), ('127.0.0.1', '127.0.0.1')]
    for other in also or []:
        values += _host_values(other, hostvars)
    sans = [_san(v, what, explicit=False) for v, what in values]
    sans += [_san(v, 'extra subject alternative name', explicit=True) for v in extra or []]
    out, seen = [], set()
    for kind, value in sans:
        if _key(kind, value) not in seen:
            seen.add(_key(kind, value))
            out.append('%s:%s' % (kind, value))
    return out


def _covers(present_dns, name):
    """Whether one of ``present_dns`` (lower-case names) covers the lower-case ``name``, wildcards included."""
    if name in present_dns:
        return True
    if name.startswith('*.') or '.' not in name:
        return False
    parent = name.split('.', 1)[1]
    return ('*.' + parent) in present_dns


def tls_missing_sans(present, required):
    """The entries of ``required`` that the subject alternative names ``present`` do not cover (list of str).

    ``present``: the ``subject_alt_name`` list of community.crypto.x509_certificate_info (``['DNS:a',
    'IP:10.0.0.1', 'IP:::1', 'email:x']``, or None for a certificate without the extension); ``required``: a list
    as tls_subject_alt_names returns. Addresses are compared normalized, names case-insensitively and without a
    final dot; a wildcard ``DNS:*.example.com`` covers exactly one left-most label (``a.example.com``, not
    ``example.com`` nor ``a.b.example.com``) and never an address. Entries of other types in ``present`` are
    ignored. Returns the uncovered entries as given in ``required``, in its order.

    Raises AnsibleFilterError when either is not a list, or an entry of ``required`` is not a valid name or
    address.
    """
    if present is None:
        present = []
    if not isinstance(present, (list, tuple)) or not isinstance(required, (list, tuple)):
        raise AnsibleFilterError('tls_missing_sans: present (subject_alt_name) and required must be lists, got %r '
                                 'and %r' % (present, required))
    have_dns, have_ip = set(), set()
    for entry in present:
        prefix, _sep, value = str(entry).partition(':')
        if prefix.upper() == 'DNS' and value.strip():
            have_dns.add(value.strip().rstrip('.').lower())
        elif prefix.upper() == 'IP' and _ip(value.strip()) is not None:
            have_ip.add(_ip(value.strip()))
    missing = []
    for entry in required:
        kind, value = _san(entry, 'required subject alternative name', fname='tls_missing_sans')
        covered = value in have_ip if kind == 'IP' else _covers(have_dns, value.lower())
        if not covered:
            missing.append(entry)
    return missing


def pgpass(entries):
    """The text of a libpq password file for ``entries`` (list of dict), one line each, newline-terminated.

    Each entry has ``user`` and ``password`` and optionally ``host``, ``port`` and ``database`` (default
    ``*``, any). Every field is written as libpq reads it back: ``\\`` before each backslash and colon
    (libpq's documentation, "The Password File"). Raises AnsibleFilterError for an entry without a user or
    password, or a field holding a line break (libpq reads one line per entry).
    """
    if not isinstance(entries, (list, tuple)):
        raise AnsibleFilterError('pgpass: expects a list of {host, port, database, user, password}, got %r'
                                 % type(entries).__name__)
    lines = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get('user') in (None, '') or entry.get('password') in (None, ''):
            raise AnsibleFilterError('pgpass: entry %d needs a user and a password' % i)
        fields = []
        for key in ('host', 'port', 'database', 'user', 'password'):
            value = entry.get(key)
            value = '*' if value in (None, '') else str(value)
            if '\n' in value or '\r' in value:
                raise AnsibleFilterError('pgpass: the %s of entry %d holds a line break, which a password file '
                                         'cannot carry' % (key, i))
            fields.append(value.replace('\\', '\\\\').replace(':', '\\:'))
        lines.append(':'.join(fields) + '\n')
    return ''.join(lines)


class FilterModule(object):
    """Security filters."""

    def filters(self):
        return {
            'pgpass': pgpass,
            'pg_hba': pg_hba,
            'tls_subject_alt_names': tls_subject_alt_names,
            'tls_missing_sans': tls_missing_sans,
        }
