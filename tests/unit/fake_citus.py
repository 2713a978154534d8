"""An in-memory Citus coordinator that answers module_utils/_citus.py's catalog queries.

Tables, columns, colocation groups, nodes and placements live in dicts; the Citus functions the
modules call (create_distributed_table, create_reference_table, undistribute_table,
alter_distributed_table, citus_add_local_table_to_metadata, citus_add_node, citus_disable_node,
citus_activate_node, citus_drain_node, citus_remove_node, isolate_tenant_to_new_shard, the
rebalancer) change that state, so a second module run sees what the first one did.
"""

import re

import psycopg2
import psycopg2.errors

from ansible_collections.dpg.cluster.plugins.module_utils import _citus, _migration

TYPES = {"bigint": 20, "integer": 23, "text": 25, "uuid": 2950}


def parse_name(name):
    """'a.b', '"A"."b""c"', 'b' -> (schema, relname) with SQL case folding; None if malformed."""
    parts, buf, quoted, i = [], "", False, 0
    raw = name.strip()
    while i < len(raw):
        ch = raw[i]
        if quoted:
            if ch == '"' and i + 1 < len(raw) and raw[i + 1] == '"':
                buf += '"'
                i += 1
            elif ch == '"':
                quoted = False
            else:
                buf += ch
        elif ch == '"':
            quoted = True
        elif ch == ".":
            parts.append(buf)
            buf = ""
        elif re.match(r"[A-Za-z0-9_$]", ch):
            buf += ch.lower()
        else:
            return None  # to_regclass raises on bad syntax; the modules treat it as "no such table"
        i += 1
    parts.append(buf)
    if len(parts) == 1:
        return ("public", parts[0])
    if len(parts) == 2:
        return tuple(parts)
    return None


class FakeCitus:
    def __init__(self, coordinator=True, citus=True):
        self.coordinator = coordinator
        self.in_recovery = False
        self.closed = False
        self.citus = citus
        self.tables = {}  # (schema, rel) -> {oid, relkind, columns{name: type}, part}
        self.colocations = {}  # id -> {shardcount, type oid}
        self.next_oid = 16384
        self.next_colocation = 1
        self.nodes = []
        self.placements = {}  # groupid -> count
        self.executed = []
        self.queries = []
        self.fail_on = None  # substring of a statement that raises
        self.refuse_login = False  # connect() raises as for a wrong password
        self.lose_connection_at = None  # the Nth statement (1-based) of a session finds the server gone
        self.timeout_at = None  # the Nth statement is cancelled by statement_timeout
        self.statements = 0
        self.current = None
        self.write_stats = (100, 1, 1, 1)  # tup_fetched, inserted, updated, deleted
        self.rebalance_plan = []  # rows of get_rebalance_table_shards_plan()
        self.rebalance_jobs = []  # rows of citus_rebalance_status(): (job_id, state, details)
        self.rebalance_final_state = "finished"
        self.tenant_shards = {}  # tenant value -> (min, max, shardid)
        self.bad_value = None
        self.bytes_per_node = {}

    # ---- model helpers -------------------------------------------------------------------
    def add_table(self, name, columns, relkind="r"):
        schema, rel = parse_name(name)
        self.tables[(schema, rel)] = dict(oid=self.next_oid, relkind=relkind, columns=dict(columns), part=None)
        self.next_oid += 1
        return self.tables[(schema, rel)]["oid"]

    def by_oid(self, oid):
        for key, t in self.tables.items():
            if t["oid"] == int(oid):
                return key, t
        raise AssertionError("no table with oid %s" % oid)

    def distribute(self, name, column, shard_count=32, colocate_with="default"):
        key = parse_name(name)
        self._create_hash(self.tables[key]["oid"], column, colocate_with, shard_count)

    def add_node(self, name, port=5432, groupid=None, isactive=True, role="primary", shouldhaveshards=True):
        gid = groupid if groupid is not None else len(self.nodes)
        self.nodes.append(dict(nodeid=len(self.nodes) + 1, groupid=gid, nodename=name, nodeport=port,
                               isactive=isactive, noderole=role, shouldhaveshards=shouldhaveshards,
                               hasmetadata=True, metadatasynced=True))
        return gid

    def _colocation_for(self, typeoid, shard_count, colocate_with, oid):
        if colocate_with not in ("default", "none"):
            other = self.tables[parse_name(colocate_with)]["part"]
            return other["colocationid"], self.colocations[other["colocationid"]]["shardcount"]
        if colocate_with == "default":
            for cid, c in self.colocations.items():
                if c["type"] == typeoid and c["shardcount"] == shard_count and c.get("default"):
                    return cid, shard_count
        cid = self.next_colocation
        self.next_colocation += 1
        self.colocations[cid] = dict(shardcount=shard_count, type=typeoid, default=colocate_with == "default")
        return cid, shard_count

    def _create_hash(self, oid, column, colocate_with, shard_count):
        _key, t = self.by_oid(oid)
        if t["part"] is not None and t["part"]["partmethod"] != "n":
            raise FakeError('table "%s" is already distributed' % _key[1])
        typeoid = TYPES[t["columns"][column]]
        cid, count = self._colocation_for(typeoid, shard_count or 32, colocate_with, oid)
        t["part"] = dict(partmethod="h", column=column, colocationid=cid, repmodel="s", shards=count)

    # ---- session interface ---------------------------------------------------------------
    def render(self, query, args=None):
        if self.closed:
            raise psycopg2.InterfaceError("connection already closed")
        if args is None:
            return query
        pieces = query.split("%s")
        out = [pieces[0]]
        for arg, piece in zip(args, pieces[1:]):
            out.append(repr(arg) + piece)
        return "".join(out)

    def close(self):
        self.closed = True

    def connect(self, params=None):
        """What _postgres.Session(params) returns in tests: the same server, a fresh (open) connection.

        ``refuse_login`` makes it raise as libpq does for a wrong password.
        """
        if self.refuse_login:
            raise FakeError('FATAL:  password authentication failed for user "postgres"')
        self.closed = False
        self.statements = 0
        return self

    def execute(self, query, args=None, record=True):
        if self.closed:
            raise psycopg2.InterfaceError("connection already closed")
        query = str(query)
        self.current = self.render(query, args)
        if record:
            self.queries.append(self.current)
        self.statements += 1
        if self.lose_connection_at and self.statements >= self.lose_connection_at:
            self.closed = True
            raise LostConnection("server closed the connection unexpectedly\n\tThis probably means the server "
                                 "terminated abnormally")
        if self.timeout_at and self.statements == self.timeout_at:
            raise StatementTimeout("canceling statement due to statement timeout")
        if query == _citus.SQL_CITUS_VERSION:
            return [("13.2-1",)] if self.citus else []
        if query == _citus.SQL_IS_COORDINATOR:
            return [(self.coordinator, self.in_recovery)]
        if query == _citus.SQL_TABLE:
            key = parse_name(args[0])
            t = self.tables.get(key) if key else None
            return [(t["oid"], key[0], key[1], t["relkind"])] if t else []
        if query == _citus.SQL_COLUMN_TYPE:
            _key, t = self.by_oid(args[0])
            typ = t["columns"].get(args[1])
            return [(typ, TYPES[typ])] if typ else []
        if query == _citus.SQL_PARTITION:
            _key, t = self.by_oid(args[0])
            p = t["part"]
            if p is None:
                return []
            co = self.colocations.get(p["colocationid"], {})
            coltype = TYPES[t["columns"][p["column"]]] if p["column"] else None
            return [(p["partmethod"], p["column"], p["colocationid"], p["repmodel"], co.get("shardcount", 0),
                     p["shards"], coltype, p.get("autoconverted", False))]
        if query == _citus.SQL_NODES:
            keys = ("nodeid", "groupid", "nodename", "nodeport", "isactive", "noderole", "shouldhaveshards",
                    "hasmetadata", "metadatasynced")
            return [tuple(n[k] for k in keys) for n in self.nodes]
        if query == _citus.SQL_NODE_PLACEMENTS:
            n = [x for x in self.nodes if x["nodename"] == args[0] and x["nodeport"] == args[1]]
            return [(self.placements.get(n[0]["groupid"], 0) if n else 0,)]
        if query == _citus.SQL_PLACEMENTS_PER_NODE:
            return [(n["nodename"], n["nodeport"], n["groupid"], self.placements.get(n["groupid"], 0))
                    for n in self.nodes if n["noderole"] == "primary"]
        if query == _citus.SQL_TABLES:
            out = []
            for (schema, rel), t in sorted(self.tables.items()):
                p = t["part"]
                if p:
                    out.append(("%s.%s" % (schema, rel), p["partmethod"], p["repmodel"], p["colocationid"], p["column"],
                                p["shards"]))
            return out
        if "get_rebalance_table_shards_plan" in query:
            return list(self.rebalance_plan)
        if "citus_rebalance_status" in query:
            return list(self.rebalance_jobs)
        if "get_shard_id_for_distribution_column" in query:
            if self.bad_value and args[1] == self.bad_value:
                raise BadValue('invalid input syntax for type bigint: "%s"' % args[1])
            low, high, shardid = self.tenant_shards.get(args[1], ("-268435456", "-134217729", 102008))
            return [(shardid, low, high)]
        if re.match(r"^SELECT [0-9]+$", query):
            return [(int(query.split()[1]),)]
        if query == _migration.SQL_TABLES:
            return [(key[0], key[1], t["oid"], 1000, ["id"], ["id", "v"]) for key, t in sorted(self.tables.items())
                    if key[0] in args[0]]
        if query == _migration.SQL_FOREIGN_KEYS:
            return []
        if "pg_stat_database" in query:
            return [self.write_stats]
        if "citus_shard_sizes" in query:
            return sorted(self.bytes_per_node.items())
        return self._call(query, args)

    def _call(self, query, args):
        if self.fail_on and self.fail_on in query:
            raise FakeError("injected failure in %s" % self.fail_on)
        self.executed.append((query, args))
        if "create_distributed_table" in query:
            oid, column, colocate = args[0], args[1] if "NULL" not in query else None, args[-2 if "shard_count" in query else -1]
            if column is None:
                _key, t = self.by_oid(oid)
                cid = self.next_colocation
                self.next_colocation += 1
                self.colocations[cid] = dict(shardcount=1, type=None)
                t["part"] = dict(partmethod="n", column=None, colocationid=cid, repmodel="s", shards=1)
                return [("",)]
            shard_count = args[-1] if "shard_count" in query else None
            self._create_hash(oid, column, colocate, shard_count)
            return [("",)]
        if "create_reference_table" in query:
            _key, t = self.by_oid(args[0])
            t["part"] = dict(partmethod="n", column=None, colocationid=99, repmodel="t", shards=1)
            return [("",)]
        if "citus_add_local_table_to_metadata" in query:
            _key, t = self.by_oid(args[0])
            t["part"] = dict(partmethod="n", column=None, colocationid=0, repmodel="s", shards=1)
            return [("",)]
        if "undistribute_table" in query:
            _key, t = self.by_oid(args[0])
            if t["part"] is None:
                raise FakeError("cannot undistribute table because the table is not distributed")
            t["part"] = None
            return [("",)]
        if "alter_distributed_table" in query:
            _key, t = self.by_oid(args[0])
            named = dict(zip(re.findall(r"(\w+) => %s", query), args[1:]))
            p = t["part"]
            if "distribution_column" in named:
                p["column"] = named["distribution_column"]
            if "shard_count" in named:
                cid = self.next_colocation
                self.next_colocation += 1
                self.colocations[cid] = dict(shardcount=named["shard_count"], type=TYPES[t["columns"][p["column"]]])
                p["colocationid"], p["shards"] = cid, named["shard_count"]
            if "colocate_with" in named:
                other = self.tables[parse_name(named["colocate_with"])]["part"]
                p["colocationid"], p["shards"] = other["colocationid"], other["shards"]
            return [("",)]
        if "citus_rebalance_start" in query:
            if not self.rebalance_plan:
                return [(None,)]
            for row in self.rebalance_plan:
                src = [n for n in self.nodes if n["nodename"] == row[3]][0]["groupid"]
                dst = [n for n in self.nodes if n["nodename"] == row[5]][0]["groupid"]
                self.placements[src] -= 1
                self.placements[dst] = self.placements.get(dst, 0) + 1
            self.rebalance_plan = []
            self.rebalance_jobs = [(7, self.rebalance_final_state, "{}")]
            return [(7,)]
        if "isolate_tenant_to_new_shard" in query:
            h = "-200000000"
            self.tenant_shards[args[1]] = (h, h, 102100)
            return [(102100,)]
        if "citus_add_node" in query:
            gid = args[2] if len(args) > 2 and args[2] not in (None, -1) else max([n["groupid"] for n in self.nodes] + [0]) + 1
            self.add_node(args[0], args[1], gid, role=args[3] if len(args) > 3 else "primary")
            return [(len(self.nodes),)]
        for func, field, value in (("citus_activate_node", "isactive", True), ("citus_disable_node", "isactive", False)):
            if func in query:
                self._node(args)[field] = value
                return [("",)]
        if "citus_drain_node" in query:
            n = self._node(args)
            n["shouldhaveshards"] = False
            moved = self.placements.pop(n["groupid"], 0)
            others = [x for x in self.nodes if x["shouldhaveshards"] and x["noderole"] == "primary" and x["groupid"] != 0]
            for i in range(moved):
                g = others[i % len(others)]["groupid"]
                self.placements[g] = self.placements.get(g, 0) + 1
            return [("",)]
        if "citus_remove_node" in query:
            n = self._node(args)
            if self.placements.get(n["groupid"]):
                raise FakeError("cannot remove or disable the node %s:%s because it contains the only shard placement"
                                % (args[0], args[1]))
            self.nodes.remove(n)
            return [("",)]
        raise AssertionError("unexpected statement: %s %r" % (query, args))

    def _node(self, args):
        for n in self.nodes:
            if n["nodename"] == args[0] and n["nodeport"] == args[1]:
                return n
        raise FakeError("node at \"%s:%s\" does not exist" % (args[0], args[1]))


class FakeError(psycopg2.Error):
    """An error as psycopg2 raises it."""


class LostConnection(psycopg2.OperationalError):
    """psycopg2's error when the server goes away mid-session (no SQLSTATE)."""


class StatementTimeout(psycopg2.errors.QueryCanceled):
    """psycopg2's error for statement_timeout (SQLSTATE 57014)."""
    pgcode = "57014"


class BadValue(psycopg2.errors.InvalidTextRepresentation):
    """psycopg2's error for a value of the wrong type (SQLSTATE 22P02)."""
    pgcode = "22P02"
