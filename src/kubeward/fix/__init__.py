"""`kubeward fix`: pin images to `tag@digest` and actions to commit SHAs, as text edits.

Each edit is located by the exact span of the finding that asks for it (`image-not-pinned-by-
digest`, `action-not-pinned-to-sha`) and spliced into the file's own text: nothing outside the
edited spans changes, byte for byte (comments, quoting, indentation, line endings, a BOM).
YAML is never re-dumped. An edit is made only when the file still holds, at the span, the text
the finding names; a file that changed since is left alone with one line saying so.
"""
