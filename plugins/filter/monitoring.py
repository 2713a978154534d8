# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus scrape targets from the inventory: which host runs which exporter, and its labels."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.topology import host_address

# The inventory groups in the order that decides a host's `role` label (a PostgreSQL node that is
# also an etcd member is `postgres`).
ROLE_ORDER = (('postgres', 'postgres'), ('balancers', 'balancer'), ('backup', 'backup'),
              ('monitoring', 'monitoring'), ('etcd', 'etcd'))

# job -> (inventory group, port key, the `role` label), in the order the jobs are written.
JOBS = (
    ('postgres', 'postgres', 'postgres_exporter', 'postgres'),
    ('pgbouncer', 'postgres', 'pgbouncer_exporter', 'postgres'),
    ('patroni', 'postgres', 'patroni', 'postgres'),
    ('etcd', 'etcd', 'etcd', 'etcd'),
    ('haproxy', 'balancers', 'haproxy', 'balancer'),
    ('pgbackrest', 'backup', 'pgbackrest_exporter', 'backup'),
    ('prometheus', 'monitoring', 'prometheus', 'monitoring'),
    ('alertmanager', 'monitoring', 'alertmanager', 'monitoring'),
)

DEFAULT_PORTS = {'node_exporter': 9100, 'postgres_exporter': 9187, 'pgbouncer_exporter': 9127, 'patroni': 8008,
                 'etcd': 2379, 'haproxy': 7000, 'pgbackrest_exporter': 9854, 'prometheus': 9090,
                 'alertmanager': 9093}


def host_port(address, port):
    """``address:port`` for a scrape target, an IPv6 address in brackets (``[2001:db8::1]:9100``)."""
    address = str(address)
    if ':' in address and not address.startswith('['):
        address = '[%s]' % address
    return '%s:%d' % (address, int(port))


def _members(groups, name):
    value = groups.get(name) or []
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("prometheus_scrape_targets: group %r must be a list of host names" % name)
    return list(value)


def _citus_group(hostvars, host, citus):
    if not citus:
        return '0'
    value = hostvars[host].get('citus_group')
    try:
        return str(int(value))
    except (TypeError, ValueError):
        raise AnsibleFilterError("prometheus_scrape_targets: %s needs an integer citus_group with Citus, got %r"
                                 % (host, value))


def prometheus_scrape_targets(groups, hostvars, cluster, citus=False, ports=None):
    """Scrape jobs for Prometheus from the inventory.

    ``groups``: the play's ``groups`` (dict: group name -> [host]); the groups read are postgres, etcd,
    balancers, backup and monitoring, absent ones are empty. ``hostvars``: the play's ``hostvars``
    (addresses from ``dpg_address`` / ``ansible_host``, ``citus_group`` and ``patroni_synchronous_mode``
    as the inventory sets them). ``cluster``: the ``cluster`` label (the Patroni scope). ``citus``: whether
    PostgreSQL hosts carry a Citus group. ``ports``: dict overriding ``DEFAULT_PORTS`` (int).

    Returns ``[{'job_name': str, 'targets': [{'targets': ['address:port'], 'labels': {...}}]}]``: job
    ``node`` for every host of those groups, then postgres, pgbouncer, patroni, etcd, haproxy,
    pgbackrest, prometheus and alertmanager for the hosts of their group; jobs without hosts are left
    out. Labels: ``cluster``, ``instance`` (the inventory name), ``role`` (postgres, balancer, backup,
    monitoring or etcd, by ``ROLE_ORDER`` for ``node``), ``citus_group`` ('0' without Citus) on every
    target of a PostgreSQL host, and ``synchronous_mode`` ('true', 'quorum' or 'false') on Patroni's.
    Raises AnsibleFilterError for a host missing from ``hostvars``, a group that is not a list, a
    port that is not an integer, or with Citus a PostgreSQL host without an integer ``citus_group``.
    """
    port_of = dict(DEFAULT_PORTS)
    for key, value in (ports or {}).items():
        try:
            port_of[key] = int(value)
        except (TypeError, ValueError):
            raise AnsibleFilterError("prometheus_scrape_targets: port %s must be an integer, got %r" % (key, value))
    postgres = set(_members(groups, 'postgres'))

    def target(host, port, role):
        labels = {'cluster': str(cluster), 'instance': host, 'role': role}
        if host in postgres:
            labels['citus_group'] = _citus_group(hostvars, host, citus)
        return {'targets': [host_port(host_address(host, hostvars), port)], 'labels': labels}

    jobs = []
    host_role = {}
    for group, role in ROLE_ORDER:
        for host in _members(groups, group):
            host_role.setdefault(host, role)
    if host_role:
        jobs.append({'job_name': 'node',
                     'targets': [target(h, port_of['node_exporter'], r) for h, r in host_role.items()]})
    for job, group, port_key, role in JOBS:
        hosts = _members(groups, group)
        if not hosts:
            continue
        targets = [target(h, port_of[port_key], role) for h in hosts]
        if job == 'patroni':
            for host, item in zip(hosts, targets):
                item['labels']['synchronous_mode'] = _sync_mode(hostvars[host].get('patroni_synchronous_mode', False))
        jobs.append({'job_name': job, 'targets': targets})
    return jobs


def _sync_mode(value):
    """Patroni's synchronous_mode as a label: 'quorum', 'true' or 'false'."""
    text = str(value).strip().lower()
    if text == 'quorum':
        return 'quorum'
    return 'true' if value is True or text in ('1', 'true', 'yes', 'on') else 'false'


class FilterModule(object):
    """Monitoring filters."""

    def filters(self):
        return {'prometheus_scrape_targets': prometheus_scrape_targets, 'host_port': host_port}
