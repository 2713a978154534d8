"""A fake Patroni REST API on 127.0.0.1 holding one cluster's state in memory.

It answers GET /cluster, GET /config, PATCH /config (deep merge, null deletes),
POST /switchover and POST /failover (the candidate or first replica becomes leader),
requires Basic auth on unsafe methods, and logs every request.
"""

import base64
import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _merge(base, patch):
    for k, v in patch.items():
        if v is None:
            base.pop(k, None)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)


class FakePatroni:
    def __init__(self, members=None, config=None, user="patroni", password="s3cret-pass-123"):
        self.members = members or [
            {"name": "pg1", "role": "leader", "state": "running", "host": "pg1", "port": 5432, "timeline": 1},
            {"name": "pg2", "role": "sync_standby", "state": "streaming", "host": "pg2", "port": 5432,
             "timeline": 1, "lag": 0},
            {"name": "pg3", "role": "replica", "state": "streaming", "host": "pg3", "port": 5432,
             "timeline": 1, "lag": 128},
        ]
        self.config = config if config is not None else {
            "ttl": 30, "loop_wait": 10, "retry_timeout": 10,
            "postgresql": {"use_pg_rewind": True, "parameters": {"max_connections": 100, "hot_standby": "on"}},
        }
        self.paused = False
        self.user, self.password = user, password
        self.log = []
        self.refuse_switchover = False
        # seconds POST /switchover and /failover take to answer (Patroni answers when the new leader runs)
        self.switchover_seconds = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self):
                want = "Basic " + base64.b64encode(("%s:%s" % (fake.user, fake.password)).encode()).decode()
                return self.headers.get("Authorization") == want

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"{}")

            def do_GET(self):
                fake.log.append(("GET", self.path, None))
                if self.path == "/cluster":
                    body = {"members": fake.members}
                    if fake.paused:
                        body["pause"] = True
                    return self._send(200, body)
                if self.path == "/config":
                    return self._send(200, fake.config)
                return self._send(404, {"error": "not found"})

            def do_PATCH(self):
                body = self._body()
                fake.log.append(("PATCH", self.path, body))
                if not self._authorized():
                    return self._send(401, {"error": "no auth"})
                if "pause" in body:
                    fake.paused = bool(body.pop("pause"))
                _merge(fake.config, body)
                return self._send(200, fake.config)

            def do_POST(self):
                body = self._body()
                fake.log.append(("POST", self.path, body))
                if not self._authorized():
                    return self._send(401, {"error": "no auth"})
                if self.path in ("/switchover", "/failover"):
                    if fake.refuse_switchover:
                        return self._send(412, "candidate not healthy")
                    time.sleep(fake.switchover_seconds)
                    cand = body.get("candidate") or [m["name"] for m in fake.members if m["role"] != "leader"][0]
                    for m in fake.members:
                        if m["name"] == cand:
                            m.update(role="leader", state="running", lag=0)
                        elif m["role"] == "leader":
                            m.update(role="replica", state="streaming", lag=0)
                        m["timeline"] = m["timeline"] + 1
                    return self._send(200, "Successfully switched over to %s" % cand)
                return self._send(404, {"error": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def unsafe_requests(self):
        return [(m, p) for m, p, body in self.log if m != "GET"]
