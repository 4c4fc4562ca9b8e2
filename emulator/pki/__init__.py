"""The test PKI: generation (``pki init``) and loading of keys into a KeyStore (file adapters)."""

from emulator.pki.loaders import KeyLoadError, load_directory, load_keys, load_keystore_json

__all__ = ["KeyLoadError", "load_directory", "load_keys", "load_keystore_json"]
