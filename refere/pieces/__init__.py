"""The pièces: every source file probed (probe, repair, sanitize, PNG metadata), the inventory of
numbered pièces with their labels and file names (plan, the single source of truth), and the PDFs
written from it (assemble, with its font and text helpers). Takes a ``Case``, gives PDFs."""
