"""Code both sides of genqueue import: settings, job specs, events, history, client.

Nothing here imports torch or Qt, so the command line starts fast and the desktop app
never pulls in the training stack.
"""
