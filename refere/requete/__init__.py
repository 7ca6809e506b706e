"""The requête and the letter: the context a template is filled with (render, redaction: the
argued sentences), the letter to the préfecture (courrier), and the check of a cabinet's own
template against sample cases (verifier, samples). Takes a ``Case`` and its inventory, gives .docx."""
