"""Blobs on OpenDAL: the response cache and `/v1/files` (imported when a `Proxy` is
built; OpenDAL is slow to import)."""
