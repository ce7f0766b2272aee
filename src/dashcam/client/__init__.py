"""One client for the read and steer commands: the local database or a server's API."""
