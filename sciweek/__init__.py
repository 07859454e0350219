"""The composition root: the command line, the embedded stack, broker nodes.

It imports the services; shared/ never imports it (nor any service).
"""
