"""Settings, database engine and security helpers shared by the service."""
