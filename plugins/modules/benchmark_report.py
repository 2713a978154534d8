#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dpg.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: benchmark_report
short_description: Write a benchmark's figures as JSON, a Markdown report with the targets table, and PNG charts
version_added: 0.7.0
description:
  - Writes C(<name>.json) (every figure with the settings and versions it ran with, and the targets table),
    C(<name>.md) (the targets with PASS / FAIL / n/a, then each table) and one PNG per chart into O(dest).
  - The playbooks run it on the controller with the output of the C(dpg.cluster.benchmark_report) filter.
author:
  - dpg.cluster developers (@dpg-cluster)
extends_documentation_fragment:
  - dpg.cluster.attributes
attributes:
  check_mode:
    support: full
    details: Writes nothing; reports the files it would write.
  diff_mode:
    support: none
options:
  dest:
    description:
      - Directory to write into (created, mode 0755, when missing).
    type: path
    required: true
  name:
    description:
      - Base name of the JSON and Markdown files, and the prefix of the PNG files (C(<name>-<chart file>)).
    type: str
    required: true
  title:
    description:
      - Heading of the Markdown report.
    type: str
    required: true
  results:
    description:
      - Every figure, the settings and the versions (written to the JSON file as given).
    type: dict
    required: true
  targets:
    description:
      - Rows with target, goal, measured, unit, result, detail.
    type: list
    elements: dict
    default: []
  tables:
    description:
      - Tables for the Markdown report, each with title, columns (list of str) and rows (lists of str).
    type: list
    elements: dict
    default: []
  charts:
    description:
      - Charts, each with file, kind (V(bars) with categories and series of y values, or V(lines) with series
        of x and y values and optional point labels), title, x_label, y_label.
    type: list
    elements: dict
    default: []
requirements:
  - matplotlib on the host that runs the module (the controller), for the charts
'''

EXAMPLES = r'''
- name: Write the report
  dpg.cluster.benchmark_report:
    dest: "{{ benchmark_report_dir }}"
    name: benchmark
    title: SQL benchmark
    results: "{{ results }}"
    targets: "{{ report.targets }}"
    tables: "{{ report.tables }}"
    charts: "{{ report.charts }}"
  vars:
    report: "{{ results | dpg.cluster.benchmark_report('sql') }}"
  delegate_to: localhost
  become: false
'''

RETURN = r'''
files:
  description: Paths written (or that would be written in check mode).
  returned: always
  type: list
  elements: str
markdown:
  description: The Markdown report's text.
  returned: always
  type: str
passed:
  description: Targets that passed, failed and could not be judged (n/a).
  returned: always
  type: dict
  sample: {PASS: 9, FAIL: 3, n/a: 1}
'''

import json
import os
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

MATPLOTLIB_IMPORT_ERROR = None
try:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    HAS_MATPLOTLIB = True
except ImportError:
    plt = None
    HAS_MATPLOTLIB = False
    MATPLOTLIB_IMPORT_ERROR = traceback.format_exc()


def _cell(value):
    if value is None:
        return '-'
    if isinstance(value, float):
        return '%.3f' % value if abs(value) < 10 else '%.1f' % value
    return str(value).replace('|', '\\|')


def markdown(title, results, targets, tables):
    """The Markdown report (str): heading, settings line, targets table, then every table."""
    lines = ['# %s' % title, '']
    started = results.get('started')
    if started:
        lines += ['Run started %s.' % started, '']
    versions = results.get('versions') or {}
    if versions:
        lines += ['Versions: ' + ', '.join('%s %s' % (k, versions[k]) for k in sorted(versions)) + '.', '']
    settings = results.get('settings') or {}
    if settings:
        lines += ['Settings: ' + ', '.join('%s=%s' % (k, settings[k]) for k in sorted(settings)) + '.', '']
    if targets:
        lines += ['## Targets', '', '| target | goal | measured | result | detail |', '|---|---|---|---|---|']
        for row in targets:
            measured = '-' if row.get('measured') is None else '%s %s' % (_cell(row['measured']), row.get('unit', ''))
            lines.append('| %s | %s | %s | %s | %s |' % (_cell(row.get('target')), _cell(row.get('goal')),
                                                         measured.strip(), row.get('result'), _cell(row.get('detail'))))
        lines.append('')
    for table in tables:
        columns = table.get('columns') or []
        lines += ['## %s' % table.get('title', ''), '', '| ' + ' | '.join(columns) + ' |',
                  '|' + '---|' * len(columns)]
        for row in table.get('rows') or []:
            lines.append('| ' + ' | '.join(_cell(c) for c in row) + ' |')
        lines.append('')
    return '\n'.join(lines)


def draw(chart, path):
    """Render one chart to ``path`` (PNG, 100 dpi)."""
    fig, ax = plt.subplots(figsize=(9, 5))
    series = chart.get('series') or []
    if chart.get('kind') == 'bars':
        categories = chart.get('categories') or []
        width = 0.8 / max(len(series), 1)
        for i, s in enumerate(series):
            xs = [c + (i - (len(series) - 1) / 2.0) * width for c in range(len(categories))]
            ax.bar(xs, [v or 0 for v in s.get('y') or []], width, label=s.get('label'))
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(categories, rotation=15, ha='right', fontsize=8)
    else:
        for s in series:
            ax.plot(s.get('x') or [], s.get('y') or [], marker='o', label=s.get('label'))
            for x, y, text in zip(s.get('x') or [], s.get('y') or [], s.get('labels') or []):
                ax.annotate(text, (x, y), textcoords='offset points', xytext=(5, 5), fontsize=7)
    ax.set_title(chart.get('title', ''))
    ax.set_xlabel(chart.get('x_label', ''))
    ax.set_ylabel(chart.get('y_label', ''))
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format='png')
    plt.close(fig)


def main():
    module = AnsibleModule(argument_spec=dict(
        dest=dict(type='path', required=True),
        name=dict(type='str', required=True),
        title=dict(type='str', required=True),
        results=dict(type='dict', required=True),
        targets=dict(type='list', elements='dict', default=[]),
        tables=dict(type='list', elements='dict', default=[]),
        charts=dict(type='list', elements='dict', default=[]),
    ), supports_check_mode=True)
    p = module.params
    if '/' in p['name'] or p['name'] in ('', '.', '..'):
        module.fail_json(msg='name %r must be a plain file name, without /' % p['name'])
    bad = [c.get('file') for c in p['charts'] if not str(c.get('file', '')).endswith('.png') or '/' in str(c.get('file'))]
    if bad:
        module.fail_json(msg='chart files must be plain names ending in .png, not %s' % bad)
    if p['charts'] and not HAS_MATPLOTLIB:
        module.fail_json(msg=missing_required_lib('matplotlib') + ' (pip install matplotlib on the controller)',
                         exception=MATPLOTLIB_IMPORT_ERROR)
    text = markdown(p['title'], p['results'], p['targets'], p['tables'])
    files = [os.path.join(p['dest'], p['name'] + '.json'), os.path.join(p['dest'], p['name'] + '.md')]
    files += [os.path.join(p['dest'], '%s-%s' % (p['name'], c['file'])) for c in p['charts']]
    counts = {}
    for row in p['targets']:
        counts[row.get('result')] = counts.get(row.get('result'), 0) + 1
    if module.check_mode:
        module.exit_json(changed=True, files=files, markdown=text, passed=counts)
    try:
        if not os.path.isdir(p['dest']):
            os.makedirs(p['dest'], 0o755)
        # each file is written next to its place and moved there whole (a failed run leaves the last report)
        staged = []
        for path in files:
            fd, tmp = tempfile.mkstemp(dir=p['dest'], prefix='.' + os.path.basename(path) + '.')
            os.close(fd)
            staged.append((tmp, path))
        with open(staged[0][0], 'w') as f:
            json.dump(dict(results=p['results'], targets=p['targets']), f, indent=2, sort_keys=True, default=str)
        with open(staged[1][0], 'w') as f:
            f.write(text + '\n')
        for chart, (tmp, path) in zip(p['charts'], staged[2:]):
            draw(chart, tmp)
        for tmp, path in staged:
            os.chmod(tmp, 0o644)
            module.atomic_move(tmp, path)
    except (IOError, OSError) as e:
        module.fail_json(msg='cannot write the report into %s: %s; choose a writable directory (dest)'
                             % (p['dest'], e), files=files)
    module.exit_json(changed=True, files=files, markdown=text, passed=counts)


if __name__ == '__main__':
    main()
