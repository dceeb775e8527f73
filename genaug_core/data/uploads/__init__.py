"""Upload loaders: turn files a user supplies into a TextDataset or ImageDataset.

This package owns everything between "bytes the user gave us" and a dataset:
format detection, text decoding, CSV/JSONL parsing, image decoding and mode
conversion, zip and NumPy reading, and every safety check on the way. Input is
hostile by assumption (the app runs on shared class servers): a bad file ends
in a `DataError` that names the file and the problem, never in another
exception, and every size is bounded by a constant in `genaug_core.data.limits`.

Public API (the app's uploader, the CLI's `check` and the training child):

- `load_files([(filename, bytes), ...])`: one text file -> TextDataset; one or
  several image files, one .zip, one .npy/.npz -> ImageDataset.
- `load_paths([path, ...])`: the same from disk (size checked before reading);
  a folder is read like a zip.
- `table_columns(name, bytes)`: the column names of a .csv/.tsv, or the field
  names of a .jsonl, for the Data page's column picker.
- `default_column(name, bytes)`: the column (field) the text is read from when
  none is chosen (named like text, else the most text-like), for the picker's default.
- `kind_of(source)`: "text" or "image", for a built-in name, builtin:NAME, or a path.

Rules (the README repeats them):

- Content wins over the extension: a PNG named notes.txt loads as an image; a
  text file named x.png is "not an image: looks like text"; an unknown
  extension with text content reads as .txt; binary content that is neither an
  image, a zip, nor a NumPy array is rejected. Python pickles are never loaded.
- Past MAX_ITEMS (for images also MAX_TOTAL_PIXELS stored, MAX_DECODED_PIXELS
  decoded) the first items are kept and one skipped entry says what was left
  out. Only the first MAX_SKIPPED_LISTED skipped items are listed;
  `meta["skipped_total"]` has the full count.

One module per format family, each importing only modules below it: common
and context at the bottom; formats (the format table, sniffing, `kind_of`) on
them; text, images and safezip (untrusted zips) on formats; tables (.csv/.tsv/
.jsonl) on text; arrays (.npy/.npz) on images and safezip; archives (.zip,
folders) on arrays, since a zip of .npy files is an .npz; loading (the public
doors and the family -> loader lookup) on all of them. Each module's
docstring has the rules of its formats.
"""

from genaug_core.data.uploads.formats import kind_of
from genaug_core.data.uploads.loading import default_column, load_files, load_paths, table_columns

__all__ = ["default_column", "kind_of", "load_files", "load_paths", "table_columns"]
