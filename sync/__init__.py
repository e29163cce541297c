"""The device sync protocol: wire schemas, the apply/pull engine and its store interface.

Imports neither Flask nor `server`, so it can be tested and reused alone.
"""
