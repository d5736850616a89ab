"""Sphinx configuration for the downpour documentation."""

import os

import downpour
from downpour import graph

HERE = os.path.dirname(os.path.abspath(__file__))

project = 'downpour'
copyright = 'downpour developers'
version = release = downpour.__version__

extensions = [
    'cliff.sphinxext',
    'sphinx.ext.graphviz',
]

# The picture of the demo in usage.rst is drawn at every build, by
# downpour graph's own code, from an export of the demo workload kept in
# demo/ (its playbook and manifest, no blobs): no cloud is needed.
os.makedirs(os.path.join(HERE, '_generated'), exist_ok=True)
with open(os.path.join(HERE, '_generated', 'demo-graph.dot'), 'w',
          encoding='utf-8') as _stream:
    _stream.write(graph.dot(graph.from_output(os.path.join(HERE, 'demo'))))
graphviz_output_format = 'svg'

# The command reference is generated from the commands' parsers.
autoprogram_cliff_application = 'downpour'
# The keystoneauth and session options every OpenStack client has are
# documented once, by os-client-config, not on every page.
autoprogram_cliff_ignored = ['--help', '--format', '--column', '--noindent',
                             '--max-width', '--fit-width', '--print-empty',
                             '--sort-column', '--sort-ascending',
                             '--sort-descending', '--quote']

master_doc = 'index'
exclude_patterns = ['demo']
html_theme = 'alabaster'

# Option names and quotes must come out as typed (--server-name, '*').
smartquotes = False
