"""The Prometheus metrics endpoint: the session's collector (`session.SessionMetrics`), the fleet's
figures and the feed's lost connections it serves, and the HTTP server in a thread of its own;
docs/metrics.md lists every metric.
"""
