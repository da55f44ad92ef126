"""The client TLS context both transports build, and the check of the CA paths given.

``ssl`` is imported only when a context is built, so plain-http users never load it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .._model.errors import ConfigurationError

if TYPE_CHECKING:
    import ssl

__all__ = ["check_ca_paths", "tls_context"]


def check_ca_paths(ca_file: str | None, ca_dir: str | None) -> None:
    """Refuse a CA file or folder that does not exist, before any I/O."""
    for label, path in (("ca_file", ca_file), ("ca_dir", ca_dir)):
        if path is not None and not os.path.exists(path):
            raise ConfigurationError(f"{label} {path!r} does not exist")


def tls_context(verify: bool, ca_file: str | None, ca_dir: str | None) -> ssl.SSLContext:
    """The client TLS context: system CAs plus ``ca_file``/``ca_dir``, or no checks.

    The system CAs come from ``create_default_context``, which honours
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``; given CAs are *added* to them (passing them to
    ``create_default_context`` would drop the system ones). Building one loads the CA
    store (milliseconds), so transports build it once.
    """
    import ssl  # here, not at the top: plain-http users never load it

    # create_default_context gives certificate and hostname checks, the system CA store
    # and the ssl module's safe defaults (TLS 1.2 at least since Python 3.10); nothing
    # here lowers them unless verify is False.
    context = ssl.create_default_context()
    if ca_file or ca_dir:
        try:
            context.load_verify_locations(cafile=ca_file, capath=ca_dir)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"could not load CA certificates: {exc}") from None
    if not verify:
        # In this order: ssl refuses CERT_NONE while check_hostname is still on
        # (ValueError).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # We speak HTTP/1.1 only, and ALPN (RFC 7301) says so: a server picks from the
    # client's list, so one that also serves HTTP/2 never switches this connection to it.
    context.set_alpn_protocols(["http/1.1"])
    return context
