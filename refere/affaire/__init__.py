"""The case file: ``dossier.yaml`` read into a validated ``Case`` (model, loader), the
départements and their tribunals (R. 221-3 CJA), a new case folder (init), and the French forms of
the persons a case names (grammaire). Takes a path, gives a ``Case`` or every problem at once."""
