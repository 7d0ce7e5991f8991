"""Talking to the High Mobility platform: access tokens, the typed REST client, one HTTP exchange
with its deadline and retry pacing, the verbose request log, the verified TLS context, JSON from
outside decoded with a depth limit, platform answers decoded into models, the platform's clock,
and what the platform answered in the operator's words.
"""
