# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by modules that talk to Patroni's REST API."""

    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of one Patroni member's REST API, without a path.
      - Any member of the group answers for the whole group.
    type: str
    default: http://127.0.0.1:8008
  api_username:
    description:
      - User of Patroni's C(restapi.authentication). Sent only with unsafe requests
        (POST, PATCH), which Patroni protects.
    type: str
  api_password:
    description:
      - Password of O(api_username).
    type: str
  validate_certs:
    description:
      - Verify the REST API's TLS certificate when O(api_url) is https.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the REST API's certificate.
    type: path
  client_cert:
    description:
      - PEM client certificate, when the REST API verifies clients.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
    type: path
  api_timeout:
    description:
      - Seconds to wait for one REST API answer.
    type: int
    default: 10
'''
