"""`python -m dtmf`: the `dtmf` command line (needs ``pip install 'dtmf-io[cli]'``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
