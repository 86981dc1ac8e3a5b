"""The local emulator: moto in server mode on 127.0.0.1 plus herd-cfn's fixes of moto's gaps.

Installed only with the ``local`` extra (``pip install 'herd-cfn[local]'``; ``scripts/setup.sh`` installs
it); nothing outside this package imports moto, and operations reach it only through
``herd_cfn.operations.local``.
"""

from __future__ import annotations

from herd_cfn.errors import InputError


def require_moto() -> None:
    """A clear refusal instead of a ModuleNotFoundError when the ``local`` extra is not installed."""
    try:
        import moto  # noqa: F401
    except ModuleNotFoundError:
        raise InputError("--local", None, "the emulator needs moto, which herd-cfn installs only with its 'local' "
                         "extra: pip install 'herd-cfn[local]' (./scripts/setup.sh installs it)") from None
