"""Files and lists an operator hands us, and the CSV we write: a named file read safely (regular,
sane size, owner-only for secrets), the CSV of VINs `vins add --file` reads, VINs typed or
pasted, and the one CSV export writer.
"""
