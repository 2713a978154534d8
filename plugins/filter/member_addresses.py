# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPv4 addresses of a Patroni cluster's members, for pg_hba lines that admit only them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError


def _ip(value):
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


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
        if name not in hostvars:
            raise AnsibleFilterError("member_addresses: host %r is not in hostvars" % (name,))
        hv = hostvars[name]
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


class FilterModule(object):
    """Topology filters."""

    def filters(self):
        return {'member_addresses': member_addresses}
