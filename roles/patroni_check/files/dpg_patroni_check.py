"""dpg-patroni-check: Patroni's role endpoints answered in plain HTTP, for TCP balancers.

Traefik's TCP health check (3.6+) connects to a port, writes a fixed request and compares the
first bytes of the answer; it dials through the same transport as the service's servers, so it
cannot speak TLS to Patroni's HTTPS REST API while the PostgreSQL traffic stays plain TCP (TLS is
negotiated inside the PostgreSQL protocol). This service listens on the node's address, accepts
only Patroni's read-only role endpoints (/primary, /replica?lag=..., ...), asks the local Patroni
over HTTPS, verifying its certificate against the cluster CA, and answers with Patroni's status
code and no body: ``HTTP/1.0 200 OK`` or ``HTTP/1.0 503 Service Unavailable``.

It also applies ``replication_state=streaming`` itself (Patroni 4.0 ignores that parameter): a
replica whose WAL receiver does not stream fails the check, as it does in HAProxy's check.

Usage: dpg-patroni-check --listen ADDRESS --port PORT --patroni URL [--ca-file PATH] [--timeout S]
Standard library only; one thread per connection; nothing is logged per check.
"""

import argparse
import http.client
import http.server
import json
import re
import socket
import ssl
import sys
import urllib.parse

# Patroni's GET/OPTIONS health endpoints; every other path is refused (404) and never forwarded.
ENDPOINTS = {"primary", "leader", "read-write", "standby-leader", "replica", "read-only", "async", "sync",
             "quorum", "health", "liveness", "readiness"}
QUERY = re.compile(r"^[A-Za-z0-9_=&.%-]{0,200}$")


def check_path(path):
    """Return ``path`` when it is one of Patroni's role endpoints with a harmless query, else None.

    ``path`` is the request target as received (str). The endpoint must be in ENDPOINTS and the
    query string (if any) made of letters, digits and ``_=&.%-`` only, at most 200 characters.
    """
    parts = urllib.parse.urlsplit(path)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    if parts.path.strip("/") not in ENDPOINTS or not QUERY.match(parts.query):
        return None
    return path


def wants_streaming(path):
    """True when the query of ``path`` asks for replication_state=streaming (Patroni 4.1's parameter)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    return "streaming" in query.get("replication_state", [])


def ask_patroni(url, path, context, timeout):
    """GET ``path`` from Patroni at ``url``; return (status code, parsed JSON body or {}).

    ``timeout`` is in seconds. Any network, TLS or protocol error returns (503, {}): a member
    whose Patroni cannot be asked must not receive traffic.
    """
    base = urllib.parse.urlsplit(url)
    if base.scheme == "https":
        conn = http.client.HTTPSConnection(base.hostname, base.port or 443, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(base.hostname, base.port or 80, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        body = resp.read(65536)
        try:
            data = json.loads(body.decode("utf-8")) if body else {}
        except ValueError:
            data = {}
        return resp.status, data if isinstance(data, dict) else {}
    except (OSError, http.client.HTTPException):
        return 503, {}
    finally:
        conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers GET, HEAD and OPTIONS with Patroni's status code for the same endpoint, no body."""

    server_version = "dpg-patroni-check"
    sys_version = ""
    timeout = 5

    def _answer(self):
        path = check_path(self.path)
        if path is None:
            code = 404
        else:
            code, data = ask_patroni(self.server.patroni_url, path, self.server.tls_context, self.server.check_timeout)
            if code == 200 and wants_streaming(path) and data.get("replication_state") != "streaming":
                code = 503
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    do_GET = _answer
    do_HEAD = _answer
    do_OPTIONS = _answer

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Log nothing per request: balancers check every second or two."""


class Server(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer on IPv4 or IPv6, carrying the Patroni URL, TLS context and timeout."""

    daemon_threads = True


def main(argv=None):
    """Parse the arguments, serve forever; exit 2 with a message on bad arguments or an unusable CA."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="address to listen on")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    parser.add_argument("--patroni", required=True, help="Patroni REST API URL, e.g. https://127.0.0.1:8008")
    parser.add_argument("--ca-file", help="CA certificate that signed Patroni's certificate (https only)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for Patroni (default 2)")
    args = parser.parse_args(argv)
    context = None
    if args.patroni.startswith("https://"):
        try:
            context = ssl.create_default_context(cafile=args.ca_file)
        except (OSError, ssl.SSLError) as exc:
            parser.exit(2, "dpg-patroni-check: cannot load the CA %s: %s\n" % (args.ca_file, exc))
    Server.address_family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    server = Server((args.listen, args.port), Handler)
    server.patroni_url = args.patroni
    server.tls_context = context
    server.check_timeout = args.timeout
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
