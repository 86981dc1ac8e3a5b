"""The local emulator: moto in server mode on 127.0.0.1 plus herd-cfn's fixes of moto's gaps.

Installed only with the ``local`` extra (``pip install herd-cfn[local]``); nothing outside this package
imports moto.
"""
