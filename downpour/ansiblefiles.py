"""What ansible-playbook needs beside playbook.yml, besides the module.

``inventory`` names localhost (run with Ansible's own Python, which has
openstacksdk, whatever interpreter discovery would pick), and
``ansible.cfg`` points at it and at nothing else: a run from the output
directory, or with ``-i OUTPUT_DIR/inventory``, parses an inventory and so
prints no warning about the implicit localhost.  ``filter_plugins/`` holds
the filter the playbook's summary is written with.
"""

import os

from downpour.render import write_atomic

HERE = os.path.dirname(__file__)
SUMMARY = os.path.join(HERE, 'filter_plugins', 'downpour_summary.py')
INVENTORY = 'inventory'
CONFIG = 'ansible.cfg'

_INVENTORY_TEXT = """\
# Written by downpour export: the import runs on this machine, with
# ansible-playbook's own Python (the one with openstacksdk).
localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"
"""

_CONFIG_TEXT = """\
# Written by downpour export.  Read by ansible-playbook when it runs in
# this directory (or with ANSIBLE_CONFIG=this file): the inventory beside
# it, so that no warning about the implicit localhost is printed.
[defaults]
inventory = inventory
"""


def write(output_dir):
    write_atomic(os.path.join(output_dir, INVENTORY), _INVENTORY_TEXT)
    write_atomic(os.path.join(output_dir, CONFIG), _CONFIG_TEXT)
    plugins = os.path.join(output_dir, 'filter_plugins')
    os.makedirs(plugins, exist_ok=True)
    with open(SUMMARY, encoding='utf-8') as stream:
        write_atomic(os.path.join(plugins, os.path.basename(SUMMARY)),
                     stream.read())
