"""``refere web``: the form way in, on the same core as the command line."""
