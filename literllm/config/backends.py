"""Which `backend` names `[cache]` and `[files]` accept: the OpenDAL schemes.

The set is the services registered in the `opendal` Python package this project
depends on (0.47); a test checks it against the installed package. OpenDAL spells
some schemes with a dash (`mini-moka`) and some docs with an underscore
(`mini_moka`): both spellings are accepted.
"""

from __future__ import annotations

__all__ = ["OPENDAL_SCHEMES", "UNAVAILABLE_OPENDAL_SCHEMES", "canonical_scheme"]

OPENDAL_SCHEMES = frozenset(
    {
        "aliyun-drive", "alluxio", "azblob", "azdls", "azfile", "b2", "cacache", "cos",
        "cosn", "dashmap", "dropbox", "file", "fs", "ftp", "gcs", "gcs-grpc", "gdrive",
        "ghac", "gridfs", "hdfs-native", "hf", "http", "https", "huggingface", "ipfs",
        "ipmfs", "koofr", "memcached", "memory", "mini-moka", "moka", "mongodb", "mysql",
        "obs", "onedrive", "oss", "persy", "postgresql", "redb", "redis", "s3", "seafile",
        "sled", "sqlite", "swift", "tos", "upyun", "vercel-artifacts", "webdav", "webhdfs",
        "yandex-disk",
    }
)  # fmt: skip

# OpenDAL services that the published Python wheels do not build in.
UNAVAILABLE_OPENDAL_SCHEMES = frozenset(
    {
        "atomicserver", "chainsafe", "cloudflare-kv", "compfs", "d1", "etcd",
        "foundationdb", "github", "hdfs", "icloud", "lakefs", "monoiofs", "rocksdb",
        "sftp", "surrealdb", "tikv", "vercel-blob",
    }
)  # fmt: skip


def canonical_scheme(name: str) -> str:
    return name.strip().lower().replace("_", "-")
