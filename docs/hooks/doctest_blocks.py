"""A griffe extension: doctest lines in docstrings become fenced ``pycon`` code on the API pages.

Our docstrings carry runnable examples as plain ``>>>`` lines, as the doctest module reads them. In
Markdown a line starting with ``>`` is a quotation, so without this they would render as nested quotes
and their square brackets as links.
"""

import griffe


class DoctestBlocks(griffe.Extension):
    def on_instance(self, **kwargs):
        docstring = kwargs["obj"].docstring
        if docstring is not None and ">>>" in docstring.value:
            docstring.value = fence_doctests(docstring.value)


def fence_doctests(text):
    lines, fenced, inside = text.splitlines(), [], None
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if inside is None and stripped.startswith(">>>") and len(indent) < 4:
            inside = indent
            fenced.append(f"{indent}```pycon")
        elif inside is not None and not stripped:
            fenced.append(f"{inside}```")
            inside = None
        fenced.append(line)
    if inside is not None:
        fenced.append(f"{inside}```")
    return "\n".join(fenced)
