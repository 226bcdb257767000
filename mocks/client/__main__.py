"""`python -m margo_conformance.mocks.client ...`: same as `margo-conformance mock client ...`."""

import sys

from .cli import serve_main

if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:]))
