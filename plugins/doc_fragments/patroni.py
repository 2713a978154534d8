# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by modules that talk to Patroni's REST API."""

    DOCUMENTATION = r'''
options:
  config_file:
    description:
      - Patroni's YAML configuration file on the managed host (for example C(/etc/patroni/config.yml)), read as
        C(patronictl -c) reads it. The task then runs on a Patroni member, with become (the file is readable by
        C(postgres) and C(root) only), and needs PyYAML there.
      - 'From it come: the URL (V(https) when C(restapi.certfile) is set, else V(http); host and port of
        C(restapi.connect_address), else C(127.0.0.1) and the port of C(restapi.listen)), the CA (C(ctl.cacert),
        else C(restapi.cafile)), the client certificate and key (C(ctl.certfile), C(ctl.keyfile)), the credentials
        (C(ctl.authentication), else C(restapi.authentication)), and C(ctl.insecure=true) turns O(validate_certs) off.'
      - O(api_url), O(api_username), O(api_password), O(ca_path), O(client_cert) and O(client_key) set in the task
        win over the file's values. The password read from the file never appears in results or messages.
    type: path
  api_url:
    description:
      - Base URL of one Patroni member's REST API, without a path.
      - Any member of the group answers for the whole group.
      - Default is the address in O(config_file) when it is set, else V(http://127.0.0.1:8008).
    type: str
  api_username:
    description:
      - User of Patroni's C(restapi.authentication). Sent only with unsafe requests
        (POST, PATCH), which Patroni protects.
      - Default is the user in O(config_file), when it is set.
    type: str
  api_password:
    description:
      - Password of O(api_username).
      - Default is the password in O(config_file), when it is set.
    type: str
  validate_certs:
    description:
      - Verify the REST API's TLS certificate when O(api_url) is https.
      - V(false) here or C(ctl.insecure=true) in O(config_file) turns verification off.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the REST API's certificate.
      - Default is the CA in O(config_file), when it is set.
    type: path
  client_cert:
    description:
      - PEM client certificate, when the REST API verifies clients.
      - Default is C(ctl.certfile) of O(config_file), when it is set.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
      - Default is C(ctl.keyfile) of O(config_file), when it is set.
    type: path
  api_timeout:
    description:
      - Seconds to wait for one REST API answer.
      - An immediate switchover or failover request of M(dpg.cluster.patroni_cluster) waits up to its O(wait_timeout)
        instead (Patroni answers it once the new leader runs).
    type: int
    default: 10
'''
