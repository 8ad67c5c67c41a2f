"""Golden case definitions, one module per controller; `python -m tests.make_fixtures` writes them.

Each case is a situation Metacontroller can put a hook in. The request files are generated
from these definitions so that observed objects look like what the API server really returns
(uids, resourceVersions, the last-applied annotation, status); the response files are goldens.
"""
