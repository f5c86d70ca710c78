"""Helpers shared by the test suite: databases, a gateway process, mock upstreams."""
