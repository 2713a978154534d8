"""Shared fixtures of the module tests: an in-memory Citus coordinator answering every session."""

import pytest

from ansible_collections.dpg.cluster.plugins.module_utils import _postgres

from tests.unit.fake_citus import FakeCitus


def make_citus(citus=True):
    """A coordinator with workers w1a (group 1) and w2a (group 2), distributed.users and reference.regions."""
    fake = FakeCitus(citus=citus)
    fake.add_node("coord", groupid=0, shouldhaveshards=False)
    fake.add_node("w1a", groupid=1)
    fake.add_node("w2a", groupid=2)
    fake.placements = {0: 2, 1: 40, 2: 24}
    fake.add_table("distributed.users", {"user_id": "bigint"})
    fake.distribute("distributed.users", "user_id")
    fake.add_table("reference.regions", {"id": "integer"})
    return fake


@pytest.fixture
def citus(monkeypatch):
    """make_citus(), answering every session the modules open."""
    fake = make_citus()
    monkeypatch.setattr(_postgres, "Session", fake.connect)
    return fake
