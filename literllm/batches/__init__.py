"""Batches the gateway runs itself: `/v1/batches` over JSONL files in `/v1/files`."""

from .api import BATCH_ENDPOINTS, BatchesAPI
from .model import BatchObject
from .runner import BatchRunner, LineRunner

__all__ = ["BATCH_ENDPOINTS", "BatchObject", "BatchRunner", "BatchesAPI", "LineRunner"]
