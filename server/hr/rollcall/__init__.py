"""Evacuation roll call: who is inside across gates now, and the roll calls tablets took."""
