"""The version, in a module that imports nothing: read by setup.cfg and the User-Agent."""

__version__ = "0.1.0"
