"""PyInstaller entry point for the glmtray bundle.

Kept outside the package so PyInstaller analyses `glmtray` as an ordinary import (all of its
modules end up in the archive under their real names) instead of running a file from inside
the package as a loose `__main__` script.
"""

import sys

from glmtray import key_helper
from glmtray.cli import main

if __name__ == "__main__":
    if sys.argv[1:2] == [key_helper.HELPER_FLAG]:  # the tray reading its key in a child
        key_helper.run(sys.argv[2:])
    sys.exit(main())
