"""The optional webhook receiver: signed clearance-change deliveries checked before anything else,
each only asking for its VIN to be read again from the platform (coalesced and paced).
"""
