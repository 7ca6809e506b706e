"""The case form in one name, for the templates (``forms.…``) and the routes.

form_fields: the inputs, their labels and where problems are shown; form_values: a YAML value ↔ the
text an input shows; form_edit: a submitted form written back into dossier.yaml.
"""

from __future__ import annotations

from refere.web.form_edit import (Change, append_entry, apply_list, apply_sections, attach_proofs,  # noqa: F401
                        half_filled, list_of, merge_proof_boxes, move, remove_key, sort_attempts, sources)
from refere.web.form_fields import (CATEGORY_LABELS, CIVILITES, DILIGENCE_FIELDS, DILIGENCE_LABELS, FOLDED,  # noqa: F401
                          LISTS, MOTIF_LABELS, PIECE_FIELDS, PROCEDURE_LABELS, SAME_AS_BLANK, SECTIONS,
                          TENTATIVE_FIELDS, UNKNOWN_KEY, URGENCE_FIELDS, Field, Section, all_paths,
                          anchor, choices_for, departement_choices, field_label, page_of, parent_path, path, place,
                          problem_words, section_open, unknown_key, without_line, words)
from refere.web.form_values import display, get, input_type, list_rows, refs, to_yaml  # noqa: F401
