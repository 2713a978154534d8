"""Call the collection's modules and playbooks as an operator does, against a molecule scenario.

Both use the scenario's inventory (MOLECULE_INVENTORY_FILE) and the tools next to the Python that
runs the tests.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
           ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), NO_COLOR="1", ANSIBLE_FORCE_COLOR="0",
           PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


def module(host, name, args, check=False, diff=False, become_user=None):
    """Run module ``name`` with ``args`` (dict) on ``host``, as ``become_user`` when given; return its result dict.

    The task goes through a temporary playbook file (mode 0600), so passwords in ``args`` are on no
    command line.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        task = {"name": "call", name: args}
        if become_user:
            task.update(become=True, become_user=become_user)
        json.dump([{"hosts": host, "gather_facts": False, "tasks": [task]}], f)
        path = f.name
    os.chmod(path, 0o600)
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"], path] + \
        (["--check"] if check else []) + (["--diff"] if diff else [])
    env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    finally:
        os.unlink(path)
    try:
        return json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][host]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("%s on %s printed no result: %s %s"
                             % (name, host, res.stdout[-2000:], res.stderr[-2000:]))


def playbook(path, *extra, check=False):
    """Run a playbook of the collection; return (rc, changed count over all hosts, output)."""
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
           os.path.join(ROOT, path)] + list(extra) + (["--check"] if check else [])
    res = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900, check=False)
    changed = sum(int(tok.split("=")[1]) for tok in res.stdout.split() if tok.startswith("changed="))
    return res.returncode, changed, res.stdout + res.stderr


def why(out, tail=3000):
    """An assertion message for a failed run of Ansible or molecule: the lines that say why first, then the tail.

    ``out`` is the run's output (str). The lines kept (at most 40, folded messages unfolded) are Ansible's
    ``fatal:``/``failed:`` results, a rescue's ``failed at "<task>"`` message, and pytest's ``FAILED`` and
    ``AssertionError`` lines of a molecule verify; ``tail`` characters of the output follow.
    """
    flat = re.sub(r"\n\s{8,}", " ", out)
    causes = [line.strip()[:2000] for line in flat.splitlines()
              if re.search(r"^\s*(fatal|failed):|failed at \"|^\s*FAILED |AssertionError", line)]
    return "\n".join(causes[:40] + ["...", out[-tail:]])
