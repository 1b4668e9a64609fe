from tests.storage.moto_server import s3_endpoint

__all__ = ["s3_endpoint"]
