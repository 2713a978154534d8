"""ansible-lint (production profile) and ansible-test sanity, with no ignore files."""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def _run(cmd, cwd, timeout):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
                         env=dict(os.environ, NO_COLOR="1", ANSIBLE_NOCOLOR="1"))
    return res.returncode, res.stdout + res.stderr


def _tracked_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and os.path.isfile(os.path.join(ROOT, f))]


def test_no_ignore_files():
    assert not [f for f in _tracked_files() if re.match(r"tests/sanity/ignore-.*\.txt$", f)]
    assert "skip_list" not in open(os.path.join(ROOT, ".ansible-lint")).read()


def test_ansible_lint_production_profile():
    rc, out = _run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--offline"], ROOT, 900)
    assert rc == 0, out[-6000:]
    assert "Profile 'production' was required, and it passed" in out


def _install_pip_bootstrap_shim():
    """ansible-test fetches get-pip.py from a host outside the reachable registries; it uses a
    cached copy when present. Put tests/sanity/get_pip_shim.py there (see its docstring)."""
    import ansible_test._internal.python_requirements as pr  # pylint: disable=import-outside-toplevel
    version = re.search(r"pip='([0-9.]+)'", open(pr.__file__).read()).group(1)
    cache = os.path.expanduser("~/.ansible/test/cache")
    os.makedirs(cache, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "tests", "sanity", "get_pip_shim.py"),
                os.path.join(cache, "get_pip_%s.py" % version.replace(".", "_")))


def test_ansible_test_sanity(tmp_path):
    _install_pip_bootstrap_shim()
    dest = tmp_path / "ansible_collections" / "dpg" / "cluster"
    for rel in _tracked_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), target)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True)
    py = "%d.%d" % sys.version_info[:2]
    rc, out = _run([os.path.join(BIN, "ansible-test"), "sanity", "--python", py, "--color", "no"], str(dest), 1800)
    errors = [line for line in out.splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert rc == 0, "\n".join(errors[-60:]) or out[-4000:]


@pytest.mark.parametrize("playbook", ["site.yml", "playbooks/ops/switchover.yml", "playbooks/ops/health_check.yml"])
def test_playbook_syntax(playbook):
    rc, out = _run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "inventories/lab", playbook],
                   ROOT, 120)
    assert rc == 0, out[-3000:]
