"""Media: upload intents, sniffing, safe decoding, image renditions with perceptual compression,
ThumbHash, filters, video fast path and ladder, and the media records.

Imports: core; social (notifications of failed uploads, large accounts for priority queues).
"""
