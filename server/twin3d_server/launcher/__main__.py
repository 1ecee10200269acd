"""``python -m twin3d_server.launcher``: the multi-user front."""

import sys

from twin3d.errors import InputError
from twin3d_server.launcher.serve import main

try:
    sys.exit(main())
except InputError as exc:  # bad settings: one line, exit 2, as the twin3d command does
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
