"""``python -m twin3d_server.launcher``: the multi-user front."""

import sys

from twin3d_server.launcher.serve import main

sys.exit(main())
