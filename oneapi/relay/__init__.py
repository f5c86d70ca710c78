"""The relay: OpenAI-compatible ``/v1`` routes over the configured channels.

:class:`~oneapi.relay.service.Relay` answers a request; :mod:`oneapi.services` builds it with
the cache, upstream client, ledger, rate limits and stored responses it uses, and
:mod:`oneapi.relay.lanes` serves it ahead of Litestar.
"""
