"""Object-storage tests against real local servers: moto (S3) and gcp-storage-emulator (GCS)."""
