# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by modules that talk to PostgreSQL (psycopg2)."""

    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host of the PostgreSQL server. Without it (and without O(login_unix_socket)) libpq's default socket is used.
    type: str
  login_port:
    description:
      - Port of the PostgreSQL server.
    type: int
    default: 5432
  login_user:
    description:
      - Role to connect as.
    type: str
    default: postgres
  login_password:
    description:
      - Password of O(login_user).
    type: str
  login_db:
    description:
      - Database to connect to.
    type: str
    default: postgres
  login_unix_socket:
    description:
      - Directory of the server's Unix socket; takes precedence over O(login_host).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the connection.
    type: int
    default: 10
  ssl_mode:
    description:
      - libpq C(sslmode) of the connection. V(verify-full) checks the server's certificate against O(ca_cert) and
        its name against O(login_host); V(prefer) uses TLS when the server offers it, without checking.
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    default: prefer
  ca_cert:
    description:
      - CA certificate (PEM file on the host that runs the module) that signed the server's certificate
        (libpq C(sslrootcert)). Needed with O(ssl_mode=verify-ca) and O(ssl_mode=verify-full).
    type: path
    aliases: [ssl_rootcert]
  ssl_cert:
    description:
      - Client certificate (PEM file) for certificate authentication (libpq C(sslcert)).
    type: path
  ssl_key:
    description:
      - Private key of O(ssl_cert) (PEM file, readable only by its owner; libpq C(sslkey)).
    type: path
notes:
  - Every server error, while connecting, reading or writing, ends the task as failed with the statement, the
    server's message and what to check; the result always has C(queries).
requirements:
  - psycopg2 on the host that runs the module
'''
