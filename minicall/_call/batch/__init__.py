"""Batch calls on the providers' batch engines (API.md section 10): see :mod:`.job`."""
