# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traefik's static and dynamic configuration for PostgreSQL TCP routes, built from the inventory.

The shapes avoid every known way Traefik's TCP routing comes up empty (see docs/traefik.md): entry
points only in the static configuration, routers and services only in the dynamic one, the file
provider with a directory (never also a filename), one plain ``HostSNI(`*`)`` router per entry
point, no service without servers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.dpg.cluster.plugins.filter.monitoring import host_port
from ansible_collections.dpg.cluster.plugins.filter.topology import citus_group_hosts, host_address

NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]*$')
# Traefik's own entry point (API, dashboard, /ping); no route may take its name.
API_ENTRYPOINT = 'traefik'
# The rule of a plain-TCP router: without TLS there is no SNI to match, so only `*` works.
PLAIN_TCP_RULE = 'HostSNI(`*`)'
# Traefik's TCP check writes `send` and compares the first len(expect) bytes of the answer. Patroni
# and dpg-patroni-check answer an HTTP/1.0 request with an HTTP/1.0 status line.
EXPECT_OK = 'HTTP/1.0 200'


def _routes(routes):
    if not isinstance(routes, (list, tuple)) or not routes:
        raise AnsibleFilterError('traefik: routes must be a non-empty list of {name, port, check}')
    names, ports = set(), set()
    for route in routes:
        if not isinstance(route, dict) or not all(k in route for k in ('name', 'port', 'check')):
            raise AnsibleFilterError('traefik: every route needs name, port and check, got %r' % (route,))
        name = str(route['name'])
        if not NAME.match(name) or name == API_ENTRYPOINT:
            raise AnsibleFilterError('traefik: route name %r must be letters, digits, _ or - and not %r'
                                     % (name, API_ENTRYPOINT))
        try:
            port = int(route['port'])
        except (TypeError, ValueError):
            raise AnsibleFilterError('traefik: route %s: port must be an integer, got %r' % (name, route['port']))
        if not 0 < port < 65536:
            raise AnsibleFilterError('traefik: route %s: port %d is out of range' % (name, port))
        if name in names or port in ports:
            raise AnsibleFilterError('traefik: route %s: name or port %d used twice' % (name, port))
        if not str(route['check']).startswith('/') or any(c in str(route['check']) for c in '\r\n '):
            raise AnsibleFilterError('traefik: route %s: check must be a Patroni endpoint path such as /primary, '
                                     'got %r' % (name, route['check']))
        names.add(name)
        ports.add(port)
    return routes


def traefik_static_config(routes, bind_address='', api_address='127.0.0.1', api_port=8080,
                          dynamic_dir='/etc/traefik/dynamic', access_log='', log_level='INFO'):
    """Traefik's static configuration (dict, written as traefik.yml).

    ``routes`` is a list of dicts ``{name, port, check, citus_group?}``; each becomes an entry point
    of that name on ``bind_address:port`` (empty address = every address). The API, dashboard and
    ``/ping`` are served on the ``traefik`` entry point at ``api_address:api_port`` (loopback by
    default; ``api.insecure`` only means "served on that entry point"). Routers and services are never
    written here: Traefik reads them only from a provider, the file provider on ``dynamic_dir`` with
    ``watch``. ``access_log`` is a file path or empty for none. The PostgreSQL entry points disable
    ``respondingTimeouts.readTimeout`` (60 s by default in v3), which would close idle sessions.
    Raises AnsibleFilterError on a bad route list or an API port that a route also uses.
    """
    _routes(routes)
    if int(api_port) in [int(r['port']) for r in routes]:
        raise AnsibleFilterError('traefik: the API port %s is also a route port' % api_port)
    entrypoints = {}
    for route in routes:
        entrypoints[str(route['name'])] = {
            'address': host_port(bind_address, route['port']) if bind_address else ':%d' % int(route['port']),
            'transport': {'respondingTimeouts': {'readTimeout': '0s'}},
        }
    entrypoints[API_ENTRYPOINT] = {'address': host_port(api_address, api_port)}
    config = {
        'global': {'checkNewVersion': False, 'sendAnonymousUsage': False},
        'log': {'level': str(log_level)},
        'entryPoints': entrypoints,
        'api': {'dashboard': True, 'insecure': True},
        'ping': {'entryPoint': API_ENTRYPOINT},
        'providers': {'file': {'directory': str(dynamic_dir), 'watch': True}},
    }
    if access_log:
        config['accessLog'] = {'filePath': str(access_log)}
    return config


def traefik_dynamic_config(routes, hosts, hostvars, citus=False, backend_port=6432, check_port=8009,
                           interval='2s', timeout='2s'):
    """Traefik's dynamic configuration (dict ``{'tcp': {'routers', 'services'}}``) for ``routes``.

    Each route ``{name, port, check, citus_group?}`` gets a router on its own entry point with the
    rule ``HostSNI(`*`)`` (plain TCP, no TLS section) and a service of the same name whose servers are
    every host of ``hosts`` at ``backend_port`` (PgBouncer), or with ``citus`` only the hosts of the
    route's ``citus_group`` (default 0, the coordinator). Each service has a TCP health check
    (Traefik 3.6+) on ``check_port`` of each server: it writes ``OPTIONS <check> HTTP/1.0`` and expects
    ``HTTP/1.0 200``; ``interval`` and ``timeout`` are Traefik durations (``2s``). Addresses come from
    dpg.cluster.host_address. Raises AnsibleFilterError on a bad route list or a route without servers.
    """
    _routes(routes)
    routers, services = {}, {}
    for route in routes:
        name = str(route['name'])
        members = list(hosts)
        if citus:
            members = citus_group_hosts(members, hostvars, route.get('citus_group', 0))
        if not members:
            raise AnsibleFilterError('traefik: route %s has no server (no PostgreSQL host%s): a TCP router '
                                     'whose service has no server refuses every connection'
                                     % (name, ' in Citus group %s' % route.get('citus_group', 0) if citus else ''))
        routers[name] = {'entryPoints': [name], 'rule': PLAIN_TCP_RULE, 'service': name}
        services[name] = {'loadBalancer': {
            'servers': [{'address': host_port(host_address(h, hostvars), backend_port)} for h in members],
            'healthCheck': {
                'port': int(check_port),
                'send': 'OPTIONS %s HTTP/1.0\r\n\r\n' % route['check'],
                'expect': EXPECT_OK,
                'interval': str(interval),
                'timeout': str(timeout),
            },
        }}
    return {'tcp': {'routers': routers, 'services': services}}


def _host(address):
    """The host of a Traefik server address ``host:port`` (IPv6 without its brackets)."""
    host = str(address).rsplit(':', 1)[0]
    return host[1:-1] if host.startswith('[') and host.endswith(']') else host


def _name(entry):
    """The name of an API entry without its provider (``primary@file`` -> ``primary``)."""
    return str(entry.get('name', '')).split('@', maxsplit=1)[0]


def traefik_api_status(routers, services):
    """What Traefik's API says of the routes the file provider loaded.

    ``routers`` and ``services`` are the JSON lists of ``/api/tcp/routers`` and ``/api/tcp/services``
    (anything else, e.g. the answer of an API that did not respond, counts as an empty list). Returns
    ``{'routers': [names], 'enabled': [names of enabled routers], 'up': {service: [hosts UP]}}`` for
    the ``@file`` entries only, names without ``@file``, hosts without port or IPv6 brackets.
    """
    routers = [r for r in (routers if isinstance(routers, list) else []) if r.get('provider') == 'file']
    services = [s for s in (services if isinstance(services, list) else []) if s.get('provider') == 'file']
    return {
        'routers': [_name(r) for r in routers],
        'enabled': [_name(r) for r in routers if r.get('status') == 'enabled'],
        'up': dict((_name(s), sorted(_host(a) for a, state in (s.get('serverStatus') or {}).items() if state == 'UP'))
                   for s in services),
    }


class FilterModule(object):
    """Traefik configuration filters."""

    def filters(self):
        return {
            'traefik_static_config': traefik_static_config,
            'traefik_dynamic_config': traefik_dynamic_config,
            'traefik_api_status': traefik_api_status,
        }
