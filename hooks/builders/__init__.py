"""Shared child-object builders: every Kubernetes object kind is built in exactly one place."""
