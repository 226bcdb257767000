"""margo-conformance: conformance test harness for the Margo Workload Management API."""

__version__ = "0.1.0"
