"""Exception types that map onto the harness's verdicts and exit codes.

FAIL (the system under test broke a rule), ERROR (harness or environment trouble) and usage
errors must never be confused, so each has its own type and exit code.
"""

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_HARNESS = 3


class ConformanceFailure(AssertionError):
    """The system under test broke a rule of the specification (verdict: fail)."""


class HarnessError(Exception):
    """The harness or its environment could not do its job (verdict: error, exit 3)."""


class ConfigError(Exception):
    """Bad command line or configuration (exit 2). The message names the file, field or option."""
