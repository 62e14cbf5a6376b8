"""The delivery network behind an interface; the sandbox (simulated devices) is the default."""
