"""The method: models, distillation losses, alpha losses and metrics. No files, no printing."""
