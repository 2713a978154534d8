# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes every dpg.cluster module declares (in the manner of community.docker's)."""

    # Descriptions; each module states its support (and details) under attributes.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
'''

    # For modules that only read.
    READ_ONLY = r'''
options: {}
attributes:
  check_mode:
    support: full
    details: Reads only; the same in check mode.
  diff_mode:
    support: N/A
    details: Nothing changes, so there is nothing to diff.
'''

    # Membership of the action group that module_defaults can name (meta/runtime.yml).
    ACTIONGROUP_POSTGRES = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/dpg.cluster.postgres) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - dpg.cluster.postgres
'''

    ACTIONGROUP_PATRONI = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/dpg.cluster.patroni) in C(module_defaults) to set the REST API options once.
    support: full
    membership:
      - dpg.cluster.patroni
'''
