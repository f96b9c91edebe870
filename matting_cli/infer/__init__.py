"""Batch inference for `ppid matte`: find inputs, plan outputs, predict alpha, estimate foregrounds, write."""
