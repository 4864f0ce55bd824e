"""Relay's benchmarks: `make bench` (python -m bench [part ...]) measures DESIGN section 3.

Every figure is measured beside its floor in the same run and reported as a ratio
against DESIGN's target; the table is printed and written between the markers of
docs/performance.md. Loopback only, bounded loops only.
"""
