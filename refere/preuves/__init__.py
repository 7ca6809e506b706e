"""The evidence: the rules a juge des référés applies to the attempts and pièces (rules), their
findings (findings), the reading of captures by OCR (lecture), the date each capture carries
(shotdates, captures) and the calendar of attempts. Takes a ``Case``, gives a ``Report``."""
