"""Data handling: image decoding, atomic writes, trimaps, compositing, training samples."""
