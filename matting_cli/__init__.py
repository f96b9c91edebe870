"""ppid: image matting with Privileged Prior Information Distillation (PPID-IM)."""

__version__ = "0.1.0"
