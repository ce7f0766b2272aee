"""Application logic above the store: ingest, and what claiming, completing and failing a
task means for its video (each in the queue's own transaction)."""
