"""Limits on user-supplied data: every bound the upload loaders enforce, in one place.

The app runs on shared class servers, so an upload must never be able to
exhaust memory, disk or time. Each constant below says what it bounds and
what happens when it is exceeded; the README lists them. The loaders read
them as `limits.NAME` at call time, so tests (and a deployment that needs
other values) can change them in one place.
"""

from __future__ import annotations

MiB = 1024 * 1024

# Largest single file accepted, in bytes. Matches `server.maxUploadSize = 200`
# in .streamlit/config.toml, so the app and the CLI accept the same files.
# Larger files are rejected before they are read.
MAX_UPLOAD_BYTES = 200 * MiB

# Most items (text lines or rows, images) kept from one upload. Items beyond it
# are not loaded: the first MAX_ITEMS are kept and one skipped entry says how
# many were left out.
MAX_ITEMS = 200_000

# Longest text item, in characters. Longer lines (or CSV/JSONL fields) are
# skipped with a reason; the csv module's own field limit (131,072) stays in force.
MAX_LINE_CHARS = 20_000

# Largest single image, in pixels (width x height), checked from the image
# header before any pixel is decoded. Pillow's own decompression-bomb check
# only starts at ~89M pixels, so an 8000x8000 image would pass it; ours skips it.
MAX_IMAGE_PIXELS = 4096 * 4096

# Most pixels (N x height x width) in the stored image dataset, so the array
# stays under ~200 MB even in RGB. Images beyond it are left out like MAX_ITEMS.
# 64M pixels hold all of MNIST (60,000 x 28 x 28) or CIFAR-10's training set.
MAX_TOTAL_PIXELS = 64 * 1024 * 1024  # 67,108,864

# Longest side of the stored images. Images are resized to the most common
# size among the upload; when that size is larger, it is scaled down (aspect
# kept) so its longer side is MAX_STORED_SIDE.
MAX_STORED_SIDE = 256

# Most entries (files and folders) in one zip archive (also: files in one
# folder given to the CLI). More rejects the whole archive.
MAX_ZIP_ENTRIES = 20_000

# Most bytes in one archive once unpacked: the sum of the sizes the zip
# declares for its entries (also: the bytes of a folder, or of several files
# loaded together). More rejects the whole archive before anything is unpacked.
MAX_ZIP_UNCOMPRESSED_BYTES = 1024 * MiB

# Highest compression ratio (unpacked / packed size) of one zip entry; above it
# the archive is treated as a zip bomb and rejected. Images are already
# compressed, so real ratios stay far below this.
MAX_ZIP_RATIO = 200

# Entries that unpack to fewer bytes than this are not ratio-checked: a tiny
# blank image can compress 500-fold yet cannot bomb anything, and the total
# MAX_ZIP_UNCOMPRESSED_BYTES still bounds them all together.
ZIP_RATIO_MIN_BYTES = 1 * MiB

# Most skipped items listed one by one in `dataset.skipped`; beyond it a single
# entry gives the count (and `meta["skipped_total"]` the full number), so a
# file of a million bad lines cannot fill memory with reasons.
MAX_SKIPPED_LISTED = 1_000

# Most pixels decoded from one upload, summed over the images' original sizes.
# This bounds the time a load can take (a zip of thousands of large but
# well-compressed images); images beyond it are left out like MAX_ITEMS.
# A billion pixels is ~80 twelve-megapixel photos.
MAX_DECODED_PIXELS = 1024**3  # 1,073,741,824
