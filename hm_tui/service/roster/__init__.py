"""The roster: every clearance by VIN as one entry per row, the diff a refresh makes, the sorted
index and the filtered view the table draws from (`model.Roster` is its public face),
fleet-sized work in steps of bounded size, and the helper process that builds a big first
roster's entries on a second core. Pure and synchronous but for the helper.
"""
