"""The Word templates' engine: the bounded Jinja sandbox, the .docx checks before and after a
render (docxzip), and the template's problems worded in French. Takes a .docx and a context, gives
a rendered document or the list of what is wrong; knows nothing of the requête's contents."""
