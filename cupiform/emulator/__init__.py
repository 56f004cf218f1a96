"""The CUPI emulator: a Unity Connection look-alike for tests, demos and CI.

``core`` answers requests over the SQLite ``store``; ``transport`` serves it in-process
to httpx, ``server`` over real HTTP(S) with uvicorn.
"""
