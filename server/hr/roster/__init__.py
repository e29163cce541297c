"""The roster: workers, imports, exports, badges and visitor passes of one enterprise."""
