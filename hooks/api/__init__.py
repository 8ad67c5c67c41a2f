"""Spec and status models of every kind, and the facts the CRDs are generated from."""
