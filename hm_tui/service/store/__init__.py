"""The local store, one SQLite file per profile: the last roster and the journal of actions (`db`),
what is wrong with a store file in words an operator can act on, and the session's guard that
keeps a failing store from ever taking the roster away.
"""
