# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Topology decisions made once, tested, and called by every role and playbook instead of Jinja copies.

A host's address, the hosts of a Citus group, the members of a Patroni cluster, their addresses
for pg_hba, and HAProxy's statistics as data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import ipaddress

from ansible.errors import AnsibleFilterError


def _ip(value):
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


def _vars(hostvars, name):
    if name not in hostvars:
        raise AnsibleFilterError("host %r is not in the inventory" % (name,))
    return hostvars[name]


def host_address(name, hostvars):
    """The address other hosts, balancers and clients use for inventory host ``name`` (str).

    ``dpg_address`` when set, else ``ansible_host``, else the inventory name itself (which the
    hosts' resolver must know). Raises AnsibleFilterError for a host not in ``hostvars``.
    """
    hv = _vars(hostvars, name)
    for key in ('dpg_address', 'ansible_host'):
        value = hv.get(key)
        if value not in (None, ''):
            return str(value)
    return str(name)


def citus_group_hosts(hosts, hostvars, group):
    """The hosts among ``hosts`` whose ``citus_group`` is ``group`` (int-like), in order (list of str).

    Hosts without ``citus_group`` are never in a group. Raises AnsibleFilterError when ``group``
    or a host's ``citus_group`` is not an integer.
    """
    try:
        want = int(group)
    except (TypeError, ValueError):
        raise AnsibleFilterError("citus_group_hosts: group must be an integer, got %r" % (group,))
    out = []
    for name in hosts:
        value = _vars(hostvars, name).get('citus_group')
        if value is None:
            continue
        try:
            if int(value) == want:
                out.append(name)
        except (TypeError, ValueError):
            raise AnsibleFilterError("citus_group of %s must be an integer, got %r" % (name, value))
    return out


def citus_groups(hosts, hostvars):
    """The distinct Citus groups of ``hosts`` (sorted list of int; hosts without citus_group skipped)."""
    groups = set()
    for name in hosts:
        value = _vars(hostvars, name).get('citus_group')
        if value is not None:
            groups.add(int(value))
    return sorted(groups)


def patroni_members(hosts, hostvars, host, citus=False):
    """The members of ``host``'s Patroni cluster among ``hosts`` (list of str, in order).

    Without Citus every host is a member of the one cluster; with Citus the hosts of ``host``'s
    ``citus_group`` (default 0) are.
    """
    if not citus:
        return list(hosts)
    return citus_group_hosts(hosts, hostvars, _vars(hostvars, host).get('citus_group', 0))


def haproxy_backends(csv_text):
    """HAProxy's statistics CSV (``/;csv``) as ``{backend: {server: status}}`` (str to str).

    Rows of FRONTEND and BACKEND pseudo-servers are left out; the header's leading ``# `` is
    accepted. Columns are read by name (``pxname``, ``svname``, ``status``), not position.
    Raises AnsibleFilterError when the text has no such header.
    """
    text = (csv_text or '').lstrip()
    if text.startswith('#'):
        text = text[1:].lstrip()
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or not set(('pxname', 'svname', 'status')) <= set(rows.fieldnames):
        raise AnsibleFilterError("haproxy_backends: not HAProxy statistics CSV (no pxname, svname, status header)")
    out = {}
    for row in rows:
        if row['svname'] in ('FRONTEND', 'BACKEND'):
            continue
        out.setdefault(row['pxname'], {})[row['svname']] = row['status']
    return out


def member_addresses(hosts, hostvars):
    """Return ``['10.0.0.5/32', ...]``: one host address (CIDR, /32 or /128) per member, unique, in order.

    ``hosts`` is a list of inventory host names (the ``postgres`` group); ``hostvars`` the play's
    hostvars. Each member's address is, in this order: ``dpg_address`` or ``ansible_host`` when it
    is an IP literal, else the gathered fact ``ansible_facts.default_ipv4.address``. Raises
    AnsibleFilterError naming the member when none is known (facts not gathered, e.g. a run with
    ``--limit``, and no IP in the inventory): a pg_hba without a member would lock it out of
    replication, so guessing is not an option.
    """
    out = []
    for name in hosts:
        hv = _vars(hostvars, name)
        addr = _ip(hv.get('dpg_address')) or _ip(hv.get('ansible_host'))
        if addr is None:
            facts = hv.get('ansible_facts') or {}
            addr = _ip((facts.get('default_ipv4') or {}).get('address'))
        if addr is None:
            raise AnsibleFilterError(
                "member_addresses: no IP address known for %s: gather its facts in the same run (do not --limit "
                "the postgres group away) or set dpg_address to its IP address" % name)
        cidr = addr + ('/128' if ':' in addr else '/32')
        if cidr not in out:
            out.append(cidr)
    return out


def pgbackrest_stanzas(hosts, hostvars, scope, citus=False):
    """pgBackRest stanzas of the Patroni clusters formed by ``hosts``: ``{stanza: [host, ...]}`` (str to list of str).

    One stanza per Patroni cluster: without Citus ``scope`` holds every host; with Citus each group
    has its own stanza ``<scope>-g<N>`` (every group is a Patroni cluster with its own system
    identifier and WAL, although all share one scope), holding the hosts of that group in order.
    Raises AnsibleFilterError for an empty scope or, with Citus, a host without ``citus_group``.
    """
    if not scope:
        raise AnsibleFilterError("pgbackrest_stanzas: scope (the Patroni scope, dpg_cluster_name) is empty")
    if not citus:
        return {str(scope): list(hosts)}
    out = {}
    for name in hosts:
        value = _vars(hostvars, name).get('citus_group')
        if value is None:
            raise AnsibleFilterError("pgbackrest_stanzas: %s has no citus_group; with Citus every PostgreSQL host needs one" % name)
        out.setdefault('%s-g%d' % (scope, int(value)), []).append(name)
    return dict(sorted(out.items(), key=lambda item: int(item[0].rsplit('-g', 1)[1])))


def pgbackrest_stanza(host, hostvars, scope, citus=False):
    """The pgBackRest stanza of inventory host ``host`` (str): ``scope``, or ``<scope>-g<citus_group>`` with Citus."""
    if not citus:
        return str(scope)
    value = _vars(hostvars, host).get('citus_group')
    if value is None:
        raise AnsibleFilterError("pgbackrest_stanza: %s has no citus_group; with Citus every PostgreSQL host needs one" % host)
    return '%s-g%d' % (scope, int(value))


class FilterModule(object):
    """Topology filters."""

    def filters(self):
        return {
            'host_address': host_address,
            'citus_group_hosts': citus_group_hosts,
            'citus_groups': citus_groups,
            'patroni_members': patroni_members,
            'member_addresses': member_addresses,
            'haproxy_backends': haproxy_backends,
            'pgbackrest_stanzas': pgbackrest_stanzas,
            'pgbackrest_stanza': pgbackrest_stanza,
        }
