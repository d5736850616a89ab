"""What ansible-playbook needs beside playbook.yml.

``collections/ansible_collections/downpour/migrate/`` is the collection
the playbook's tasks come from: its module (downpour/collection/) and, as
its module_utils, the import engine (downpour/importer/), which Ansible
ships with the module wherever the task runs.  A collection beside the
playbook is found with nothing to install or configure, and its
module_utils may be a package of many modules, where the library/
directory beside a playbook takes one file per module.

``inventory`` names localhost (run with Ansible's own Python, which has
openstacksdk, whatever interpreter discovery would pick), and
``ansible.cfg`` points at it and at nothing else: a run from the output
directory, or with ``-i OUTPUT_DIR/inventory``, parses an inventory and so
prints no warning about the implicit localhost.  ``filter_plugins/`` holds
the filter the playbook's summary is written with.
"""

import os
import shutil

from downpour.render import write_atomic

HERE = os.path.dirname(__file__)
COLLECTION = os.path.join(HERE, 'collection')
ENGINE = os.path.join(HERE, 'importer')
# Where the collection goes in the output directory.
COLLECTION_DIR = os.path.join('collections', 'ansible_collections',
                              'downpour', 'migrate')
# The module an earlier downpour shipped beside the playbook.
OLD_MODULE = os.path.join('library', 'downpour_resources.py')
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


def _copy_tree(source, target, suffixes):
    """The files of ``source`` ending in ``suffixes``, copied to
    ``target``; what was there is replaced whole."""
    if os.path.isdir(target):
        shutil.rmtree(target)
    for directory, subdirs, names in os.walk(source):
        subdirs[:] = [d for d in subdirs if d != '__pycache__']
        where = os.path.join(target, os.path.relpath(directory, source))
        os.makedirs(where, exist_ok=True)
        for name in sorted(names):
            if name.endswith(suffixes):
                with open(os.path.join(directory, name),
                          encoding='utf-8') as stream:
                    write_atomic(os.path.join(where, name), stream.read())


def write_collection(output_dir):
    """The collection, engine included; its path."""
    target = os.path.join(output_dir, COLLECTION_DIR)
    _copy_tree(COLLECTION, target, ('.py', '.yml'))
    _copy_tree(ENGINE, os.path.join(target, 'plugins', 'module_utils',
                                    'importer'), ('.py',))
    old = os.path.join(output_dir, OLD_MODULE)
    if os.path.exists(old):
        os.unlink(old)
    return target


def write(output_dir):
    write_collection(output_dir)
    write_atomic(os.path.join(output_dir, INVENTORY), _INVENTORY_TEXT)
    write_atomic(os.path.join(output_dir, CONFIG), _CONFIG_TEXT)
    plugins = os.path.join(output_dir, 'filter_plugins')
    os.makedirs(plugins, exist_ok=True)
    with open(SUMMARY, encoding='utf-8') as stream:
        write_atomic(os.path.join(plugins, os.path.basename(SUMMARY)),
                     stream.read())
