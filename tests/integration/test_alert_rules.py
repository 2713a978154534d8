"""The collection's Prometheus alert rules and their promtool unit tests.

roles/prometheus/templates/dpg-alerts.rules.yml.j2 is rendered as the role renders it (Jinja with
`[[ ]]` variable markers, so Prometheus's own `{{ $labels.x }}` pass through) with the thresholds of
roles/prometheus/defaults/main.yml, then checked in pure Python (every rule has a severity and a
summary and description; every alert has a test where it fires and one where it does not) and by
`promtool check rules` / `promtool test rules` (tests/prometheus/dpg-alerts.test.yml) in the image
dpg-promtool:trixie that `make image` builds (lab/image/build.sh).
"""

import os
import re
import shutil

import jinja2
import jinja2.meta
import pytest
import yaml

from tests.support import ROOT, docker, docker_problem

TEMPLATE = os.path.join(ROOT, "roles", "prometheus", "templates", "dpg-alerts.rules.yml.j2")
DEFAULTS = os.path.join(ROOT, "roles", "prometheus", "defaults", "main.yml")
UNIT_TESTS = os.path.join(ROOT, "tests", "prometheus", "dpg-alerts.test.yml")
RULES_NAME = "dpg-alerts.rules.yml"  # the name the unit tests' rule_files give
IMAGE = os.environ.get("DPG_PROMTOOL_IMAGE", "dpg-promtool:trixie")
VARIABLE = re.compile(r"\[\[\s*(.*?)\s*\]\]")


def _environment():
    """A Jinja environment like the role's template task: `[[ ]]` variables, undefined is an error."""
    return jinja2.Environment(variable_start_string="[[", variable_end_string="]]",
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _template_source():
    """The rules template's text."""
    with open(TEMPLATE) as f:
        return f.read()


def _alert_defaults():
    """The prometheus_alert_* variables of the role's defaults, by name."""
    with open(DEFAULTS) as f:
        defaults = yaml.safe_load(f) or {}
    return {k: v for k, v in defaults.items() if k.startswith("prometheus_alert_")}


def _render():
    """The rules file as the role writes it with its default thresholds (text)."""
    return _environment().from_string(_template_source()).render(**_alert_defaults())


def _rules(text):
    """Every rule of a rendered rules file, in order, each with its group's name under `group`."""
    doc = yaml.safe_load(text)
    return [dict(rule, group=group["name"]) for group in doc["groups"] for rule in group["rules"]]


def _unit_tests():
    """tests/prometheus/dpg-alerts.test.yml, parsed."""
    with open(UNIT_TESTS) as f:
        return yaml.safe_load(f)


def _alert_rule_tests():
    """(test name, alert_rule_test entry) for every alert check of the unit tests."""
    return [(test["name"], check) for test in _unit_tests()["tests"] for check in test.get("alert_rule_test", [])]


def _promtool(workdir, *args):
    """promtool ARGS in the promtool image, with workdir mounted read-only as its working directory."""
    return docker("run", "--rm", "--network", "none", "--entrypoint", "promtool",
                  "-v", "%s:/rules:ro" % workdir, "-w", "/rules", IMAGE, *args, timeout=300)


def test_template_uses_only_plain_threshold_variables_with_defaults():
    source = _template_source()
    # the role's template task changes only the variable markers: Jinja blocks and comments stay active
    assert "{%" not in source and "{#" not in source, "Jinja block or comment markers in the rules template"
    names = [m.group(1) for m in VARIABLE.finditer(source)]
    assert names, "no [[ ]] variable in the rules template"
    not_plain = [n for n in names if not re.fullmatch(r"prometheus_alert_[a-z0-9_]+", n)]
    assert not not_plain, "only plain prometheus_alert_* substitutions are allowed: %s" % not_plain
    used = jinja2.meta.find_undeclared_variables(_environment().parse(source))
    assert used == set(names)
    missing = sorted(used - set(_alert_defaults()))
    assert not missing, "thresholds without a default in %s: %s" % (os.path.relpath(DEFAULTS, ROOT), missing)
    unused = sorted(set(_alert_defaults()) - used)
    assert not unused, "prometheus_alert_* defaults no rule uses: %s" % unused
    for name, value in _alert_defaults().items():
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0, (name, value)


def test_every_rule_has_severity_summary_and_description():
    text = _render()
    assert "[[" not in text and "]]" not in text
    rules = _rules(text)
    assert rules
    for rule in rules:
        assert rule.get("alert"), "recording rule or rule without a name in group %s" % rule["group"]
        assert str(rule.get("expr", "")).strip(), rule["alert"]
        assert rule.get("labels", {}).get("severity") in ("critical", "warning"), rule["alert"]
        annotations = rule.get("annotations", {})
        for key in ("summary", "description"):
            assert str(annotations.get(key, "")).strip(), "%s has no %s" % (rule["alert"], key)
        # Prometheus templates survived the rendering: they name the labels of the alert
        assert "{{ $labels." in annotations["summary"] + annotations["description"], rule["alert"]


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    alerts = {rule["alert"] for rule in _rules(_render())}
    checks = _alert_rule_tests()
    firing = {check["alertname"] for _name, check in checks if check.get("exp_alerts")}
    quiet = {check["alertname"] for _name, check in checks if not check.get("exp_alerts")}
    assert not sorted(alerts - firing), "alerts without a test where they fire: %s" % sorted(alerts - firing)
    assert not sorted(alerts - quiet), "alerts without a test where they stay quiet: %s" % sorted(alerts - quiet)
    # a check of an alert name no rule has passes whenever it expects nothing: none may exist
    unknown = sorted({check["alertname"] for _name, check in checks} - alerts)
    assert not unknown, "unit tests of alerts the rules do not define: %s" % unknown
    for test_name, check in checks:
        for expected in check.get("exp_alerts") or []:
            labels = expected.get("exp_labels", {})
            assert labels.get("cluster") and labels.get("severity"), (test_name, check["alertname"], labels)
            annotations = expected.get("exp_annotations", {})
            assert annotations.get("summary") and annotations.get("description"), (test_name, check["alertname"])


def test_unit_tests_load_the_rendered_rules():
    assert _unit_tests()["rule_files"] == [RULES_NAME]


def test_promtool_checks_and_unit_tests_pass(tmp_path):
    reason = docker_problem(IMAGE)
    if reason:
        pytest.skip(reason)
    workdir = tmp_path / "rules"
    workdir.mkdir()
    (workdir / RULES_NAME).write_text(_render())
    shutil.copy(UNIT_TESTS, workdir / os.path.basename(UNIT_TESTS))
    # readable by the container's user whatever the engine maps it to
    os.chmod(workdir, 0o755)
    for path in workdir.iterdir():
        os.chmod(path, 0o644)

    check = _promtool(str(workdir), "check", "rules", RULES_NAME)
    out = check.stdout + check.stderr
    assert check.returncode == 0, out
    assert "SUCCESS" in out, out
    count = len(_rules((workdir / RULES_NAME).read_text()))
    assert "%d rules found" % count in out, out

    test = _promtool(str(workdir), "test", "rules", os.path.basename(UNIT_TESTS))
    out = test.stdout + test.stderr
    assert test.returncode == 0, out
    assert "SUCCESS" in out and "FAILED" not in out, out
