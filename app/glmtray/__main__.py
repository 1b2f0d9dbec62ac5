import sys

from glmtray.cli import main

sys.exit(main())
