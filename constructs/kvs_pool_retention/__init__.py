"""Keep the data retention of Chime SDK media pipeline Kinesis Video Stream pools at a declared value.

The construct is imported on first use, so that the drift check (`python -m kvs_pool_retention`) and the
grant arithmetic load without aws-cdk-lib and its Node process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kvs_pool_retention.retention import KinesisVideoStreamPoolRetention

__all__ = ["KinesisVideoStreamPoolRetention"]


def __getattr__(name: str) -> Any:
    if name == "KinesisVideoStreamPoolRetention":
        from kvs_pool_retention.retention import KinesisVideoStreamPoolRetention

        return KinesisVideoStreamPoolRetention
    raise AttributeError(f"module 'kvs_pool_retention' has no attribute {name!r}")
