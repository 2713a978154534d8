"""Make the checkout importable as ansible_collections.dpg.cluster for every test."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")


def _install_collection_finder():
    link = os.path.join(COLLECTIONS, "ansible_collections", "dpg", "cluster")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    paths = [COLLECTIONS] + [p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections"))]
    _AnsibleCollectionFinder(paths=paths)._install()


_install_collection_finder()


def pytest_configure(config):
    config.addinivalue_line("markers", "lab: end-to-end test of `make lab`; runs after every other test")


def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    """The end-to-end lab test runs last: after the molecule scenarios, on a machine they left clean."""
    items.sort(key=lambda item: item.get_closest_marker("lab") is not None)
