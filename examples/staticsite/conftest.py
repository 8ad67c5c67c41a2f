"""Here so that pytest puts this folder on sys.path: the tests run before `pip install -e .`."""
