"""The S3 server fixtures (tests/s3_server.py) for the integration tier."""

from tests.s3_server import s3_bucket, s3_server, s3_settings

__all__ = ["s3_bucket", "s3_server", "s3_settings"]
