"""Model adapters behind Protocols; heavy libraries are imported inside each backend."""
