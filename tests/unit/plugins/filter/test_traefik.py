"""traefik_api_status: what health_check.yml reads from Traefik's API."""

from ansible_collections.dpg.cluster.plugins.filter.traefik import traefik_api_status


def test_file_routes_enabled_routers_and_members_up():
    routers = [{"name": "primary@file", "provider": "file", "status": "enabled"},
               {"name": "replicas@file", "provider": "file", "status": "disabled"},
               {"name": "api@internal", "provider": "internal", "status": "enabled"}]
    services = [{"name": "primary@file", "provider": "file",
                 "serverStatus": {"10.0.0.2:6432": "UP", "[fd00::1]:6432": "DOWN", "10.0.0.3:6432": "DOWN"}},
                {"name": "replicas@file", "provider": "file", "serverStatus": {"[fd00::1]:6432": "UP"}},
                {"name": "api@internal", "provider": "internal"}]
    assert traefik_api_status(routers, services) == {
        "routers": ["primary", "replicas"], "enabled": ["primary"],
        "up": {"primary": ["10.0.0.2"], "replicas": ["fd00::1"]}}


def test_an_api_that_did_not_answer_counts_as_empty():
    assert traefik_api_status(None, "") == {"routers": [], "enabled": [], "up": {}}
