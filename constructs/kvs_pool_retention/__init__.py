"""Keep the data retention of Chime SDK media pipeline Kinesis Video Stream pools at a declared value."""

from kvs_pool_retention.retention import KinesisVideoStreamPoolRetention

__all__ = ["KinesisVideoStreamPoolRetention"]
