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


OPS_PLAYBOOKS = sorted("playbooks/ops/" + f for f in os.listdir(os.path.join(ROOT, "playbooks", "ops"))
                       if f.endswith(".yml"))


@pytest.mark.parametrize("inventory", ["inventories/lab", "inventories/lab_citus"])
def test_playbook_syntax(inventory):
    """site.yml and every ops playbook in one ansible-playbook process per inventory (it checks each named
    playbook and stops at the first that fails, naming it)."""
    rc, out = _run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", inventory, "site.yml"]
                   + OPS_PLAYBOOKS, ROOT, 300)
    assert rc == 0, out[-3000:]
    # one "playbook: <path>" line per playbook checked
    checked = re.findall(r"^playbook: (\S+)$", out, re.M)
    assert checked == ["site.yml"] + OPS_PLAYBOOKS, checked


def test_collection_tarball_excludes_lab_and_tests_and_installs(tmp_path):
    """ansible-galaxy builds a tarball without lab/molecule/tests; installed from it, dpg.cluster.site resolves."""
    import tarfile  # pylint: disable=import-outside-toplevel
    rc, out = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                    str(tmp_path), ROOT], ROOT, 300)
    assert rc == 0, out[-3000:]
    tarball = next(tmp_path.glob("dpg-cluster-*.tar.gz"))
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "roles/patroni/meta/argument_specs.yml" in names
    assert "plugins/modules/patroni_cluster.py" in names
    assert "playbooks/site.yml" in names
    leaked = [n for n in names if n.split("/")[0] in ("lab", "molecule", ".ci", ".venv", ".lab", "build")
              or n.startswith(("tests/unit", "tests/integration", "inventories/lab"))]
    assert not leaked, leaked[:10]
    install = tmp_path / "installed"
    rc, out = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "--no-deps", "-p", str(install),
                    str(tarball)], ROOT, 300)
    assert rc == 0, out[-3000:]
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = %s\n" % install)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(install), ANSIBLE_CONFIG=str(cfg))
    res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i",
                          os.path.join(ROOT, "inventories", "example"), "dpg.cluster.site"],
                         cwd=str(tmp_path), capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
