"""The Citus layout proposed for a single-node schema (module_utils/_migration.py)."""

from ansible_collections.dpg.cluster.plugins.module_utils import _migration

SHOP = [
    dict(name="shop.countries", rows=250, primary_key=["code"], columns=["code", "name"]),
    dict(name="shop.users", rows=200000, primary_key=["user_id"], columns=["user_id", "email", "country"]),
    dict(name="shop.orders", rows=5000000, primary_key=["user_id", "order_id"], columns=["order_id", "user_id", "total"]),
    dict(name="shop.order_items", rows=20000000, primary_key=["user_id", "order_id", "line"],
         columns=["user_id", "order_id", "line", "sku"]),
    dict(name="shop.products", rows=50000, primary_key=["sku"], columns=["sku", "title"]),
    dict(name="shop.audit_log", rows=900000, primary_key=[], columns=["at", "what"]),
    dict(name="shop.big_catalog", rows=3000000, primary_key=["item_id"], columns=["item_id", "x"]),
]
FKS = [("shop.users", "shop.countries", ["country"]), ("shop.order_items", "shop.products", ["sku"]),
       ("shop.orders", "shop.users", ["user_id"])]


def by_name(plan):
    return dict((t["name"], t) for t in plan["tables"])


def test_shared_key_becomes_distribution_column_colocated_with_the_largest():
    plan = _migration.propose(SHOP, FKS)
    t = by_name(plan)
    assert plan["tenant_column"] == "user_id"
    for name in ("shop.users", "shop.orders", "shop.order_items"):
        assert t[name]["type"] == "hash" and t[name]["distribution_column"] == "user_id"
    assert t["shop.order_items"]["colocate_with"] == "none"  # the anchor: most rows
    assert t["shop.users"]["colocate_with"] == "shop.order_items"
    assert t["shop.orders"]["colocate_with"] == "shop.order_items"


def test_small_and_referenced_tables_become_reference_tables_first():
    plan = _migration.propose(SHOP, FKS)
    t = by_name(plan)
    assert t["shop.countries"]["type"] == "reference" and "referenced by shop.users" in t["shop.countries"]["reason"]
    assert t["shop.products"]["type"] == "reference"
    names = [x["name"] for x in plan["tables"]]
    assert names.index("shop.countries") < names.index("shop.users")
    assert names.index("shop.products") < names.index("shop.order_items")
    assert names.index("shop.order_items") < names.index("shop.users")


def test_large_tables_without_the_key():
    t = by_name(_migration.propose(SHOP, FKS))
    assert t["shop.audit_log"]["type"] == "local" and "no primary key" in t["shop.audit_log"]["reason"]
    assert t["shop.big_catalog"]["type"] == "hash" and t["shop.big_catalog"]["distribution_column"] == "item_id"
    assert t["shop.big_catalog"]["colocate_with"] == "none"


def test_overrides_win():
    plan = _migration.propose(SHOP, FKS, overrides={"shop.audit_log": {"type": "reference"}})
    assert by_name(plan)["shop.audit_log"]["type"] == "reference"
    assert by_name(plan)["shop.audit_log"]["reason"] == "override"


def test_no_shared_key():
    tables = [dict(name="a.x", rows=10, primary_key=["id"], columns=["id"]),
              dict(name="a.y", rows=10 ** 7, primary_key=["yid"], columns=["yid"])]
    plan = _migration.propose(tables, [])
    assert plan["tenant_column"] is None
    assert by_name(plan)["a.x"]["type"] == "reference"
    assert by_name(plan)["a.y"]["type"] == "hash" and by_name(plan)["a.y"]["distribution_column"] == "yid"


def test_reference_chain_order():
    tables = [dict(name="a.city", rows=10, primary_key=["id"], columns=["id", "country"]),
              dict(name="a.country", rows=5, primary_key=["code"], columns=["code"])]
    plan = _migration.propose(tables, [("a.city", "a.country", ["country"])])
    assert [t["name"] for t in plan["tables"]] == ["a.country", "a.city"]
