import os
from paste import deploy
# barbican re-parses its config at import with no arguments: found as $HOME/barbican.conf
application = deploy.loadapp("config:" + os.path.join(os.environ["HOME"], "barbican-api-paste.ini"))
