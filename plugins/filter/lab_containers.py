# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's container list, built from the inventory in the play that uses it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def lab_containers(hosts, hostvars, ports_var='lab_published_ports'):
    """Return the containers for ``hosts``: ``[{'name': str, 'published_ports': [str, ...]}, ...]``.

    ``hosts`` is a list of inventory host names (``groups['all']``); ``hostvars`` the play's
    ``hostvars``; each host's ``ports_var`` (default ``lab_published_ports``, a list of Docker
    port specifications such as ``127.0.0.1:5000:5000``) becomes ``published_ports``, ``[]``
    when the host has none. Each host's variable is read through ``hostvars`` in the calling
    play, never through another host's variables (which ansible-core 2.19 templates without
    the other hosts' variables). Raises AnsibleFilterError for a host missing from
    ``hostvars`` or a port list that is not a list of strings.
    """
    out = []
    for name in hosts:
        if name not in hostvars:
            raise AnsibleFilterError("lab_containers: host %r is not in hostvars" % (name,))
        ports = hostvars[name].get(ports_var) or []
        if not isinstance(ports, (list, tuple)) or not all(isinstance(p, str) for p in ports):
            raise AnsibleFilterError("lab_containers: %s of %s must be a list of port strings such as "
                                     "'127.0.0.1:5000:5000', got %r" % (ports_var, name, ports))
        out.append({'name': name, 'published_ports': [str(p) for p in ports]})
    return out


class FilterModule(object):
    """Filters for the lab."""

    def filters(self):
        return {'lab_containers': lab_containers}
