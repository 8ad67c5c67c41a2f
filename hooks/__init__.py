"""kubehooks: Kubernetes operators as plain Python functions served as Metacontroller hooks."""

__version__ = "0.1.0"
