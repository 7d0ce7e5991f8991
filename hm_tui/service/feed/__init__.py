"""The MQTT feed of pushed vehicle data: the in-process client (`client.FeedClient`), its bounded
buffers, payload parsing, health, the tuned paho client, the feed's own process and its wire,
and the one MQTT session per certificate shared by every hm-tui process on the machine
(election, holder's hub, local socket, takeovers); docs/feed-sessions.md.
"""
