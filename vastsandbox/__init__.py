"""The built-in Vast.ai emulator: an aiohttp server speaking the same wire format as Vast.ai.

Start one with :func:`vastsandbox.server.start_in_thread` (tests, ``--sandbox``) or
:func:`vastsandbox.server.serve` (``vastplan sandbox serve``). See docs/sandbox.md.
"""
