# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Privileges of the inventory's users (``dpg_users``) as rows for community.postgresql.postgresql_privs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# Table, sequence and schema privileges per profile; "owner" owns its databases and needs none.
PROFILES = {
    'owner': None,
    'readwrite': {'table': 'SELECT,INSERT,UPDATE,DELETE', 'sequence': 'USAGE,SELECT', 'schema': 'USAGE'},
    'readonly': {'table': 'SELECT', 'sequence': 'SELECT', 'schema': 'USAGE'},
}


def user_grants(users, databases):
    """Rows of privileges that give each user of ``users`` its profile in its databases.

    ``users``: list of dicts ``{name, databases: [str], profile: owner|readwrite|readonly (default owner),
    schemas: [str] (default ['public'])}`` (the inventory's ``dpg_users``). ``databases``: list of dicts
    ``{name, owner}`` (``patroni_databases``); the owner is the role whose future objects the default
    privileges cover (the superuser when a database has no owner).

    Returns a list of dicts with the keys of community.postgresql.postgresql_privs: ``role``, ``db``,
    ``type`` (database, schema, table, sequence, default_privs), ``objs``, ``schema`` (or None), ``privs`` and
    ``target_roles`` (or None). Per readwrite/readonly user and database: CONNECT; per schema of the user
    (which must exist when the grants run): USAGE, table and sequence privileges on everything in it
    (ALL_IN_SCHEMA) and default privileges on the tables and sequences the database's owner creates in it
    later (postgresql_privs always scopes default privileges to a schema).

    Raises AnsibleFilterError for a user without a name, an unknown profile or a database that is not in
    ``databases``.
    """
    if not isinstance(users, list) or not isinstance(databases, list):
        raise AnsibleFilterError('user_grants: users and databases must be lists (dpg_users, patroni_databases)')
    owners = {}
    for db in databases:
        if not isinstance(db, dict) or not db.get('name'):
            raise AnsibleFilterError('user_grants: every database needs a name, got %r' % (db,))
        owners[db['name']] = db.get('owner') or 'postgres'
    rows = []
    for user in users:
        if not isinstance(user, dict) or not user.get('name'):
            raise AnsibleFilterError('user_grants: every entry of dpg_users needs a name')
        name = user['name']
        profile = user.get('profile') or 'owner'
        if profile not in PROFILES:
            raise AnsibleFilterError('user_grants: user %s has profile %r; use one of %s'
                                     % (name, profile, ', '.join(sorted(PROFILES))))
        privs = PROFILES[profile]
        if privs is None:
            continue
        for dbname in user.get('databases') or []:
            if dbname not in owners:
                raise AnsibleFilterError('user_grants: user %s is given database %s, which patroni_databases '
                                         '(dpg_databases) does not create; add it there' % (name, dbname))
            owner = owners[dbname]

            def row(kind, objs, priv, schema=None, target=None):
                return {'role': name, 'db': dbname, 'type': kind, 'objs': objs, 'schema': schema,
                        'privs': priv, 'target_roles': target}
            rows.append(row('database', dbname, 'CONNECT'))
            for schema in user.get('schemas') or ['public']:
                rows.append(row('schema', schema, privs['schema']))
                rows.append(row('table', 'ALL_IN_SCHEMA', privs['table'], schema))
                rows.append(row('sequence', 'ALL_IN_SCHEMA', privs['sequence'], schema))
                rows.append(row('default_privs', 'TABLES', privs['table'], schema, owner))
                rows.append(row('default_privs', 'SEQUENCES', privs['sequence'], schema, owner))
    return rows


class FilterModule(object):
    """Grant filters."""

    def filters(self):
        return {'user_grants': user_grants}
