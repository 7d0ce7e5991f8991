"""What an operator configures: the config file's profiles and secrets (`profiles`), its fields and
its owner-only writes, the forms a secret may come back in (for `redact`), and the filters an
operator saves per profile.
"""
