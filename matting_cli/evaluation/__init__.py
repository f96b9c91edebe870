"""Evaluate folders of predicted mattes against ground truth: pairing, split groups, running, reports."""
