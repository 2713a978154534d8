"""Checks of a Traefik configuration against every known way its TCP routing comes up empty or broken.

Used by tests/integration/test_traefik_config.py (on what the traefik role renders for several
inventories) and by the ha scenario (on the files the role wrote on the balancer). Each problem is
a sentence naming the file and the fix; an empty list means none was found.

The pitfalls (../shared/reference/traefik.md, the seeds' `002` where /api/tcp/routers stayed empty):
routers or services in the static file; no file provider; a file provider with both `filename` and
`directory`, or neither; a dynamic file not ending in .yml/.yaml/.toml (silently skipped); a file
that does not parse; a router on an entry point the static file lacks; HostSNI with a name but no
TLS (a plain-TCP router can only match `*`); a second router on a plain-TCP entry point; a router
naming a missing service; a service without servers; a server address without a port.
"""

import re

import yaml

DYNAMIC_SUFFIXES = (".yml", ".yaml", ".toml")
HOSTSNI = re.compile(r"HostSNI\(`([^`]*)`\)")


def _problems_static(static):
    out = []
    if not isinstance(static, dict):
        return ["traefik.yml: not a mapping"]
    for key in ("tcp", "http", "udp"):
        if key in static:
            out.append("traefik.yml: '%s' is dynamic configuration; Traefik ignores routers and services in the "
                       "static file: move them to the file provider's directory" % key)
    provider = (static.get("providers") or {}).get("file")
    if not isinstance(provider, dict):
        out.append("traefik.yml: no providers.file: no router or service is ever loaded")
    elif "filename" in provider and "directory" in provider:
        out.append("traefik.yml: providers.file has both filename and directory: Traefik refuses the provider")
    elif "filename" not in provider and "directory" not in provider:
        out.append("traefik.yml: providers.file names neither a filename nor a directory")
    if not isinstance(static.get("entryPoints"), dict) or not static["entryPoints"]:
        out.append("traefik.yml: no entryPoints")
    return out


def config_problems(static, dynamic_files):
    """Problems of ``static`` (dict, the parsed traefik.yml) with ``dynamic_files`` ({file name: text}).

    Returns a list of str, empty when the configuration has none of the known pitfalls.
    """
    out = _problems_static(static)
    entrypoints = set((static.get("entryPoints") or {}) if isinstance(static, dict) else {})
    routers, services = {}, {}
    for name, text in sorted(dynamic_files.items()):
        if not name.endswith(DYNAMIC_SUFFIXES):
            out.append("%s: the file provider skips files not ending in .yml, .yaml or .toml" % name)
            continue
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            out.append("%s: does not parse (Traefik logs 'Error while building configuration'): %s" % (name, exc))
            continue
        tcp = (data.get("tcp") or {}) if isinstance(data, dict) else {}
        routers.update(tcp.get("routers") or {})
        services.update(tcp.get("services") or {})
    if not routers:
        out.append("dynamic configuration: no TCP router (/api/tcp/routers would be empty)")
    plain_by_entrypoint = {}
    for name, router in routers.items():
        router = router or {}
        eps = router.get("entryPoints") or []
        if not eps:
            out.append("router %s: no entryPoints (it would listen on every entry point)" % name)
        for ep in eps:
            if ep not in entrypoints:
                out.append("router %s: entry point %s is not in the static configuration" % (name, ep))
        sni = HOSTSNI.findall(str(router.get("rule", "")))
        if not sni:
            out.append("router %s: rule %r is not HostSNI(...)" % (name, router.get("rule")))
        if any(s != "*" for s in sni) and not router.get("tls"):
            out.append("router %s: HostSNI with a name needs TLS; a plain-TCP (PostgreSQL) router can only match `*`"
                       % name)
        if sni == ["*"] and not router.get("tls"):
            for ep in eps:
                plain_by_entrypoint.setdefault(ep, []).append(name)
        if router.get("service") not in services:
            out.append("router %s: service %s is not defined" % (name, router.get("service")))
    for ep, names in sorted(plain_by_entrypoint.items()):
        if len(names) > 1:
            out.append("entry point %s: plain-TCP routers %s share it; HostSNI(`*`) must be alone" % (ep, names))
    for name, service in services.items():
        servers = ((service or {}).get("loadBalancer") or {}).get("servers") or []
        if not servers:
            out.append("service %s: no servers: every connection would be refused" % name)
        for server in servers:
            address = str((server or {}).get("address", ""))
            if not re.match(r"^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):[0-9]+$", address):
                out.append("service %s: server address %r is not host:port" % (name, address))
    return out
