"""Run a module's main() in-process and capture exit_json / fail_json."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


def run_module(main, args, check_mode=False, diff=False):
    """Call main() with args; return (result dict, failed bool)."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ModuleExit(json.loads(json.dumps(kwargs, default=str)), False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(json.loads(json.dumps(kwargs, default=str)), True)

    mp = pytest.MonkeyPatch()
    mp.setattr(basic.AnsibleModule, "exit_json", exit_json)
    mp.setattr(basic.AnsibleModule, "fail_json", fail_json)
    try:
        with patch_module_args(args):
            main()
    except ModuleExit as e:
        return e.result, e.failed
    finally:
        mp.undo()
    raise AssertionError("module returned without exit_json or fail_json")
