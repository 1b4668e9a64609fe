from tests.storage.moto_server import s3_endpoint, s3_storage

__all__ = ["s3_endpoint", "s3_storage"]
