"""Media processing: sniffing, safe decoding, renditions, perceptual compression, ThumbHash, filters."""
