"""The browser inspector at ``/inspector``: every chat drawn as a phone shows it, every webhook delivery
with its attempts, live; and forms that act as the partner's line or (in the sandbox) as the far side."""
