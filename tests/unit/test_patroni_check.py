"""dpg_patroni_check.py (the patroni_check role's service) against a stand-in Patroni on 127.0.0.1.

Each check is sent as Traefik 3.6 sends it: raw bytes on a TCP connection, then one read of as
many bytes as the expected status line has.
"""

import http.server
import importlib.util
import json
import os
import socket
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location(
    "dpg_patroni_check", os.path.join(ROOT, "roles", "patroni_check", "files", "dpg_patroni_check.py"))
CHECK = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(CHECK)

# what the stand-in Patroni answers: path -> (status, body)
ANSWERS = {
    "/primary": (200, {"role": "primary"}),
    "/replica?lag=16MB&replication_state=streaming": (200, {"role": "replica", "replication_state": "stopped"}),
    "/replica?lag=16MB": (200, {"role": "replica", "replication_state": "streaming"}),
    "/read-only": (503, {"role": "replica"}),
}
SEEN = []


class FakePatroni(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
        SEEN.append((self.command, self.path))
        status, body = ANSWERS.get(self.path, (404, {}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="module")
def check_port():
    patroni = _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakePatroni))
    server = CHECK.Server(("127.0.0.1", 0), CHECK.Handler)
    server.patroni_url = "http://127.0.0.1:%d" % patroni.server_address[1]
    server.tls_context = None
    server.check_timeout = 2.0
    _serve(server)
    yield server.server_address[1]
    server.shutdown()
    patroni.shutdown()


def _traefik_check(port, send, expect="HTTP/1.0 200"):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(send.encode())
        return conn.recv(len(expect)) == expect.encode()


@pytest.mark.parametrize("send,passes", [
    ("OPTIONS /primary HTTP/1.0\r\n\r\n", True),
    # Patroni 4.0 says 200 without looking at replication_state; the service requires streaming itself
    ("OPTIONS /replica?lag=16MB&replication_state=streaming HTTP/1.0\r\n\r\n", False),
    ("OPTIONS /replica?lag=16MB HTTP/1.0\r\n\r\n", True),
    ("OPTIONS /read-only HTTP/1.0\r\n\r\n", False),
    ("GET /config HTTP/1.0\r\n\r\n", False),
    ("PATCH /config HTTP/1.0\r\n\r\n", False),
    ("GET http://example.com/primary HTTP/1.0\r\n\r\n", False),
])
def test_checks_answer_with_patroni_status_line(check_port, send, passes):
    assert _traefik_check(check_port, send) is passes


def test_only_role_endpoints_reach_patroni_and_always_as_get(check_port):
    del SEEN[:]
    for send in ("GET /config HTTP/1.0\r\n\r\n", "OPTIONS /patroni HTTP/1.0\r\n\r\n", "OPTIONS /primary HTTP/1.0\r\n\r\n"):
        _traefik_check(check_port, send)
    assert SEEN == [("GET", "/primary")]


def test_patroni_unreachable_fails_the_check():
    server = CHECK.Server(("127.0.0.1", 0), CHECK.Handler)
    server.patroni_url = "http://127.0.0.1:9"
    server.tls_context = None
    server.check_timeout = 1.0
    _serve(server)
    try:
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=3) as conn:
            conn.sendall(b"OPTIONS /primary HTTP/1.0\r\n\r\n")
            assert conn.recv(12) == b"HTTP/1.0 503"
    finally:
        server.shutdown()


@pytest.mark.parametrize("path,ok", [("/primary", True), ("/replica?lag=1MB&replication_state=streaming", True),
                                     ("/config", False), ("/primary?x=<script>", False), ("//evil/primary", False),
                                     ("/primary#frag", False)])
def test_check_path(path, ok):
    assert (CHECK.check_path(path) is not None) is ok


def test_bad_ca_file_exits_with_a_message(capsys):
    with pytest.raises(SystemExit) as err:
        CHECK.main(["--listen", "127.0.0.1", "--port", "0", "--patroni", "https://127.0.0.1:8008",
                    "--ca-file", "/nonexistent/ca.crt"])
    assert err.value.code == 2 and "cannot load the CA /nonexistent/ca.crt" in capsys.readouterr().err
