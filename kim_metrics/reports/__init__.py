"""Files people read: every one renders a plain data object, never a database.

- ``registry``: each format (csv, json, xlsx, docx, pdf) registered once per document; the
  command line's ``--format`` choices and the pages' download buttons read it.
- ``cells``: what any cell or line of text we write may hold (formulas made inert).
- ``files``: file names (slugs) for any script and length.
- ``exports``: league, scores and audit trail as CSV, JSON and Excel.
- ``letters/``: a director's letter: ``data``, ``wording``, ``word``, ``pdf``.
- ``boardpack/``: the board pack: ``data``, ``wording``, ``pdf``.
- ``pdfstyle`` (the PDF house style) and ``charts`` (matplotlib charts placed in a PDF).

``services.documents`` fetches the data from a round and calls these.
"""
