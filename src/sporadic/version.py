"""The one place the version is written: pyproject.toml, ``sporadic --version`` and
``sporadic.__version__`` read it here."""

__version__ = "0.1.0"
