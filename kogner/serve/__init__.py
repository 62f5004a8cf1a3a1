"""Serving: the REST API with micro-batching (``kogner serve``)."""
