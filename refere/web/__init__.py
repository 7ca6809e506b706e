"""``refere web``: the form way in, a second face on the same core as the command line. Takes
what a person types and uploads into a workspace of case folders, gives the same checks and
builds as the CLI (its routes call build, batch, present and the stages; they keep no rules)."""
