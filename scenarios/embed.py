#!/usr/bin/env python3
"""Write a C file defining `const char NAME[]` with the bytes of a text file (build step)."""
import sys

src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, "rb") as f:
    data = f.read()
lines = ["/* generated from %s by embed.py: do not edit */" % src.split("/")[-1],
         '#pragma GCC diagnostic ignored "-Woverlength-strings"',
         "extern const char %s[];" % name,
         "const char %s[] =" % name]
for line in data.decode("utf-8").splitlines(keepends=True):
    esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    lines.append('    "%s"' % esc)
lines.append('    "";')
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
