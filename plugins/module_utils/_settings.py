# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One comparison of PostgreSQL / Patroni setting values, shared by every module (pure, no I/O).

PostgreSQL accepts the same value in many spellings: ``4GB`` and ``4096MB``; ``on``, ``true``,
``yes`` and ``1``; ``1s`` and ``1000ms``; ``30`` and ``30.0``. :func:`same_setting` says whether
two spellings mean the same value, so a module reports ``changed`` only for a real difference.
Units and their factors follow PostgreSQL's documentation, "Parameter Names and Values"
(memory units kB, MB, GB, TB with multiplier 1024; time units us, ms, s, min, h, d).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Bytes per memory unit, microseconds per time unit (PostgreSQL 17 docs, section 19.1.1).
MEMORY_UNITS = {'B': 1, 'kB': 1024, 'MB': 1024 ** 2, 'GB': 1024 ** 3, 'TB': 1024 ** 4}
TIME_UNITS = {'us': 1, 'ms': 1000, 's': 1000 ** 2, 'min': 60 * 1000 ** 2, 'h': 3600 * 1000 ** 2,
              'd': 86400 * 1000 ** 2}
TRUE_WORDS = ('on', 'true', 'yes', 't', 'y')
FALSE_WORDS = ('off', 'false', 'no', 'f', 'n')

_QUANTITY = re.compile(r'^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$')


def canonical(value):
    """A comparable form of one setting value.

    :param value: str, int, float, bool or None as an inventory, ``GET /config`` or
        ``current_setting()`` gives it.
    :returns: ``None``; ``('bool', True|False)``; ``('number', float)``; ``('memory', bytes)``;
        ``('time', microseconds)``; or ``('text', str)`` exactly as given (paths, commands and
        prefixes are case- and space-sensitive). ``1`` and ``0``
        stay numbers: PostgreSQL reads them as booleans only for boolean settings, which the
        comparison handles by also accepting a number against a boolean of the same truth.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return ('bool', value)
    if isinstance(value, (int, float)):
        return ('number', float(value))
    text = str(value).strip()
    low = text.lower()
    if low in TRUE_WORDS:
        return ('bool', True)
    if low in FALSE_WORDS:
        return ('bool', False)
    try:
        return ('number', float(text))
    except ValueError:
        pass
    match = _QUANTITY.match(text)
    if match:
        number, unit = float(match.group(1)), match.group(2)
        if unit in MEMORY_UNITS:
            return ('memory', number * MEMORY_UNITS[unit])
        if unit in TIME_UNITS:
            return ('time', number * TIME_UNITS[unit])
    return ('text', str(value))


def same_setting(a, b):
    """True when ``a`` and ``b`` are the same setting value in any spelling (see :func:`canonical`).

    ``4GB`` = ``4096MB``, ``on`` = ``true`` = ``True``, ``1s`` = ``1000ms``, ``30`` = ``30.0`` =
    ``'30'``, ``1`` = ``on`` and ``0`` = ``off``; a unit-less number never equals a value with a
    unit (its unit depends on the setting). ``None`` equals only ``None``.
    """
    ca, cb = canonical(a), canonical(b)
    if ca is None or cb is None:
        return ca is cb
    if ca == cb:
        return True
    kinds = set((ca[0], cb[0]))
    if kinds == set(('bool', 'number')):
        truth = ca[1] if ca[0] == 'bool' else cb[1]
        number = cb[1] if ca[0] == 'bool' else ca[1]
        return number in (0.0, 1.0) and bool(number) == truth
    return False
