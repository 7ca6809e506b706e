"""``refere init``: a new case folder from the commented template, optionally by questions."""

from __future__ import annotations

import json
import os
import string
from importlib import resources
from pathlib import Path

import click

from refere import dates
from refere.affaire import departements
from refere.errors import OutputError, RefereError, os_reason
from refere.write import case_around, is_refere_output
from refere.affaire.loader import PLACEHOLDER
from refere.affaire.libelles import PROCEDURE_LABELS
from refere.affaire.model import EMAIL, PROCEDURES


FIELDS = ["civilite", "nom", "prenoms", "date_naissance", "lieu_naissance", "nationalite", "adresse",
          "telephone", "courriel", "numero_etranger", "type", "titre_actuel", "expiration_titre",
          "departement"]
OPTIONAL = {"telephone", "courriel", "numero_etranger", "titre_actuel", "expiration_titre", "civilite"}


def _yaml_value(value: str | None) -> str:
    if value is None or value == "":
        return "null"
    if "\n" in value:
        return "|\n" + "".join(f"    {line}\n" for line in value.splitlines()).rstrip("\n")
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def render(answers: dict[str, str | None] | None) -> str:
    template = resources.files("refere").joinpath("data/dossier-modele.yaml").read_text("utf-8")
    values = {}
    for name in FIELDS:
        if answers is None:
            values[name] = "null" if name in OPTIONAL else _yaml_value(PLACEHOLDER)
        else:
            values[name] = _yaml_value(answers.get(name))
    # No département nor démarche is guessed: a forgotten line must not send the case to Montreuil.
    return string.Template(template).substitute(values)


def check_place(folder: Path) -> None:
    """Refuse, before any question, a folder where a new case cannot be made or would not be safe."""
    target = folder / "dossier.yaml"
    if os.path.lexists(target):  # a dangling link too: it would be written through
        what = "est un lien symbolique" if os.path.islink(target) else "existe déjà"
        raise OutputError(f"« {target} » {what} : rien n'a été modifié")
    if os.path.lexists(folder) and not folder.is_dir():
        raise OutputError(f"« {folder} » existe et n'est pas un dossier")
    real = Path(os.path.realpath(folder))
    for output in (real, *real.parents):
        if is_refere_output(output):
            # Each build replaces its output whole: a case made in it would be lost at the next one.
            where = "est" if output == real else f"est dans « {output} », qui est"
            raise OutputError(f"« {folder} » {where} un dossier construit par refere (il contient inventaire.json), "
                              "remplacé à chaque construction : créez l'affaire ailleurs ; rien n'a été modifié")
    below = _case_below(folder)
    if below is not None:
        # A case file here would hide them: batch reads a case folder as one case (attack 28).
        raise OutputError(f"« {folder} » contient déjà une affaire ({below}) : créez la nouvelle affaire dans un "
                          "dossier à elle, à côté ; rien n'a été modifié")
    if real.parent != real and (parent := case_around(real.parent)) is not None:
        # refere batch refuses a case inside another's folder (« affaire rangée dans le dossier d'une autre »).
        raise OutputError(f"« {folder} » est dans le dossier d'une autre affaire (« {parent} ») : créez la "
                          "nouvelle affaire à côté, pas dedans ; rien n'a été modifié")


def _case_below(folder: Path, most: int = 10_000) -> Path | None:
    """A dossier.yaml below ``folder`` (links not followed, hidden folders skipped, bounded)."""
    for n, (here, dirs, files) in enumerate(os.walk(folder)):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if n and "dossier.yaml" in files:
            return Path(here) / "dossier.yaml"
        if n >= most:
            break
    return None


def create(folder: Path, answers: dict[str, str | None] | None = None) -> Path:
    target = folder / "dossier.yaml"
    check_place(folder)
    text = render(answers).encode("utf-8")
    try:
        for sub in ("captures", "pieces"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        # O_EXCL: created here and now, never through a link planted meanwhile; 0666 less the user's umask.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
    except FileExistsError:
        raise OutputError(f"« {target} » existe déjà : rien n'a été modifié") from None
    except OSError as exc:
        raise OutputError(f"impossible de créer « {folder} » ({os_reason(exc)})") from None
    return target


def _ask(label: str, check=None, optional: bool = False) -> str | None:
    while True:
        text = click.prompt(label + (" (facultatif, Entrée pour passer)" if optional else ""),
                            default="" if optional else None, show_default=False).strip()
        if not text:
            if optional:
                return None
            click.echo("  Ce champ est obligatoire.")
            continue
        if check is None:
            return text
        try:
            return check(text)
        except (ValueError, RefereError) as exc:
            click.echo(f"  {getattr(exc, 'message', exc)}")


def _email(text: str) -> str:
    if not EMAIL.match(text):
        raise ValueError(f"adresse électronique invalide « {text} »")
    return text


def _date(text: str) -> str:
    return dates.parse_date(text).isoformat()


def _plain(text: str) -> str:
    """Lower case, no accents, words only: « Changement de statut » ~ « changement_de_statut »."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text.replace("_", " ").replace("’", "'")).lower()
    return " ".join("".join(c for c in text if not unicodedata.combining(c) and (c.isalnum() or c in " '")).split())


CIVILITES = {"m": "M.", "monsieur": "M.", "mr": "M.", "mme": "Mme", "madame": "Mme", "mlle": "Mme",
             "mademoiselle": "Mme"}


def civilite(text: str) -> str:
    """« Madame », « mme », « Monsieur », « M. » → « Mme » or « M. »."""
    found = CIVILITES.get(_plain(text))
    if found is None:
        raise ValueError("répondez « Madame » ou « Monsieur »")
    return found


def choose(text: str, options: dict[str, str]) -> str:
    """An answer among words: its number, its code, or a few of its words (« renouvellement »)."""
    codes = list(options)
    said = _plain(text)
    if said.isascii() and said.isdigit() and 1 <= int(said) <= len(codes):  # « ፩ »: isdigit, not int()
        return codes[int(said) - 1]
    exact = [c for c in codes if said in (_plain(c), _plain(options[c]))]
    if exact:
        return exact[0]
    words = said.split()
    hits = [c for c in codes if words and all(w in f"{_plain(c)} {_plain(options[c])}".split() or
                                                any(x.startswith(w) for x in f"{_plain(c)} {_plain(options[c])}".split())
                                                for w in words)]
    if len(hits) == 1:
        return hits[0]
    among = hits or codes
    raise ValueError(("plusieurs démarches correspondent" if hits else f"démarche non reconnue « {text} »")
                     + " : tapez son numéro (" + ", ".join(f"{codes.index(c) + 1} {options[c]}" for c in among[:4])
                     + ("…" if len(among) > 4 else "") + ")")


def _menu(options: dict[str, str]) -> None:
    for k, label in enumerate(options.values(), 1):
        click.echo(f"  {k:>2}. {label}")


def ask(folder: Path) -> dict[str, str | None]:
    """Ask the case's essential questions one by one, validating each answer; none for a folder refused."""
    check_place(folder)
    a: dict[str, str | None] = {}
    a["civilite"] = _ask("Civilité (Madame ou Monsieur)", civilite)
    a["nom"] = _ask("Nom de famille")
    a["prenoms"] = _ask("Prénoms")
    a["date_naissance"] = _ask("Date de naissance (JJ/MM/AAAA)", _date)
    a["lieu_naissance"] = _ask("Lieu de naissance, ville (pays)")
    a["nationalite"] = _ask("Nationalité (par exemple : guinéenne)")
    addr = _ask("Adresse (séparez les lignes par « / »)")
    a["adresse"] = "\n".join(part.strip() for part in (addr or "").split("/"))
    a["telephone"] = _ask("Téléphone", optional=True)
    a["courriel"] = _ask("Courriel", _email, optional=True)
    a["numero_etranger"] = _ask("Numéro étranger AGDREF (10 chiffres)", optional=True)
    options = {k: PROCEDURE_LABELS[k] for k in PROCEDURES}
    click.echo("Démarche bloquée :")
    _menu(options)
    a["type"] = _ask("Démarche (son numéro, ou quelques mots : « renouvellement », « changement de statut »)",
                     lambda t: choose(t, options))
    a["titre_actuel"] = _ask("Titre de séjour actuel", optional=True)
    a["expiration_titre"] = _ask("Date d'expiration du titre (JJ/MM/AAAA)", _date, optional=True)
    a["departement"] = _ask("Département de la préfecture (par exemple 93)", departements.normalize_code)
    return a
