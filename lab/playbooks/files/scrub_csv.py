"""Replace the e-mail column of a CSV file by user<row>@scrubbed.invalid.

    scrub_csv.py FILE COLUMN

Prints "changed" when the file changed, "unchanged" otherwise; a missing
file or column fails. The file is rewritten in place through a temporary
file, so a crash leaves the old or the new one.
"""
import csv
import io
import os
import sys

path, column = sys.argv[1], sys.argv[2]
with open(path, newline="") as f:
    text = f.read()
rows = list(csv.reader(io.StringIO(text)))
if not rows or column not in rows[0]:
    sys.exit(f"{path}: no column {column!r} in the header {rows[0] if rows else []}")
col = rows[0].index(column)
for n, row in enumerate(rows[1:], start=1):
    if col < len(row):
        row[col] = f"user{n}@scrubbed.invalid"
out = io.StringIO()
csv.writer(out, lineterminator="\n").writerows(rows)
if out.getvalue() == text:
    print("unchanged")
    sys.exit(0)
tmp = path + ".scrub"
with open(tmp, "w", newline="") as f:
    f.write(out.getvalue())
os.replace(tmp, path)
print("changed")
