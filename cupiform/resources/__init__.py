"""Descriptions of CUPI resource kinds: paths, element and field names, identity.

These are the only names the emulator and the client share; neither shares wire code.
"""
