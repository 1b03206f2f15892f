"""``link`` and ``vertical``: the same patients in several parties' CSV files (lesson 12).

A party is one CSV file, named by its stem; ``--id`` names the identifier columns
(text allowed, never features), normalized alike at every party and linked by private
set intersection (:mod:`fedlab.vertical.psi`).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from fedlab._files import atomic_open, check_new_file, check_output_folder, json_report
from fedlab._validation import InvalidParameterError
from fedlab.cli.options import (
    FILE_RULE,
    SEED,
    count,
    force_option,
    fraction,
    non_negative,
    positive,
    seed,
)
from fedlab.cli.report import fitted_coefficients, format_table, report_document

MIN_CELL = 5


def register(sub):
    """Add the ``link`` and ``vertical`` sub-commands."""
    link = sub.add_parser("link", help="how many patients several parties' CSV files share, "
                                       "by private set intersection", epilog=FILE_RULE)
    _party_options(link)
    link.add_argument("--count-only", action="store_true",
                      help="learn only how many patients are shared, not which")
    link.add_argument("--out", metavar="DIR",
                      help="write each party's linked rows (id columns kept, in the first "
                           "party's row order) to DIR/<party>.csv (DIR is created)")
    force_option(link)
    link.set_defaults(handler=_link)

    vertical = sub.add_parser("vertical", help="vertical FL: link the parties, train one "
                                               "logistic regression on columns that never "
                                               "meet, compare with the joined table",
                              epilog=FILE_RULE)
    _party_options(vertical)
    vertical.add_argument("--target", required=True, metavar="COLUMN",
                          help="the 0/1 outcome column, held by exactly one party")
    vertical.add_argument("--test-size", type=fraction, default=0.25,
                          help="fraction of the linked patients held out (default 0.25)")
    vertical.add_argument("--min-linked", type=count, default=10, metavar="N",
                          help="refuse a study with fewer shared patients (default 10)")
    vertical.add_argument("--max-steps", type=count, default=10_000,
                          help="most full-batch gradient steps (default 10000)")
    vertical.add_argument("--lr", type=positive, default=0.5, help="step size (default 0.5)")
    vertical.add_argument("--l2", type=non_negative, default=1e-3,
                          help="L2 penalty (default 0.001)")
    vertical.add_argument("--tol", type=positive, default=1e-6,
                          help="stop when the gradient's norm is below this (default 1e-6)")
    vertical.add_argument("--seed", type=seed, default=SEED,
                          help=f"seed of the train/test split (default {SEED})")
    vertical.add_argument("--json", metavar="PATH",
                          help="also write the results as JSON to this new file")
    force_option(vertical)
    vertical.set_defaults(handler=_vertical)


def _party_options(parser):
    parser.add_argument("--party", action="append", required=True, metavar="CSV",
                        help="one party's records (a header row, UTF-8); repeat for each "
                             "party; a party is named by the file's stem")
    parser.add_argument("--id", action="append", required=True, metavar="COLUMN",
                        help="an identifier column every party holds (repeatable, e.g. "
                             "name and date of birth); text allowed, never a feature")
    parser.add_argument("--own-id", action="append", default=[], metavar="COLUMN",
                        help="a party's own identifier column (e.g. its pseudonymous id; "
                             "repeatable): kept in --out, never a feature, not linked on")
    parser.add_argument("--min-cell", type=count, default=MIN_CELL, metavar="N",
                        help="suppress a count of 1 to N-1 shared patients, and metrics "
                             "resting on fewer than N test patients or on 1 to N-1 events "
                             f"or non-events (default {MIN_CELL})")


# -- link ------------------------------------------------------------------------------------


def _link(args):
    from fedlab import vertical

    parties = _read_ids(args.party, args.id, args.own_id)
    names = list(parties)
    if args.out:
        folder = check_output_folder(args.out, [f"{n}.csv" for n in names], option="--out",
                                     force=args.force)
        if folder.exists():
            for name in names:
                check_new_file(folder / f"{name}.csv", option="--out", force=args.force,
                               inputs=args.party)
    linkage = vertical.link({n: p["keys"] for n, p in parties.items()},
                            count_only=args.count_only)
    by = ", ".join(args.id)
    if 0 < linkage.size < args.min_cell:
        print(f"The {len(names)} parties share fewer than {args.min_cell} patients (by {by}): "
              f"suppressed (--min-cell {args.min_cell})")
        if args.out:
            raise InvalidParameterError(
                f"--out {args.out}: fewer than {args.min_cell} shared patients; their rows "
                "are not written (--min-cell)")
        return 0
    print(f"The {len(names)} parties share {linkage.size:,} patients (by {by})")
    if args.out and not args.count_only:
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            path = folder / f"{name}.csv"
            with atomic_open(path) as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(parties[name]["header"])
                writer.writerows(parties[name]["records"][i] for i in linkage.rows[name])
            print(f"written to {path}")
    elif args.out:
        print("--out: nothing written (--count-only learns no row)")
    return 0


# -- vertical --------------------------------------------------------------------------------


def _vertical(args):
    from fedlab.metrics import release_results

    with json_report(args.json, force=args.force, inputs=args.party) as write:
        results = _study(args)
        fits, training = results.pop("fits"), results["training"]
        released = release_results(results, min_cell=args.min_cell)
        for name, entry in released["methods"].items():
            entry.update(fitted_coefficients(*fits[name]))
        print(format_table(released))
        print(f"\nvertical: {training['steps']:,} gradient steps"
              + ("" if training["converged"]
                 else " (did not converge: raise --max-steps or lower --lr)")
              + f", {training['bytes_per_step']:,} bytes a step "
                f"(partial predictors and residuals), {training['bytes']:,} in all")
        print(_coefficient_table(released["methods"]))
        document = report_document(released, command="vertical", args=args, strategies={})
        document["config"].update(parties=args.party, id=args.id, own_id=args.own_id,
                                  max_steps=args.max_steps, tol=args.tol,
                                  min_linked=args.min_linked)
        write(document)
    return 0


def _study(args):
    from fedlab import data, vertical
    from fedlab.vertical.study import compare

    parties = _read_ids(args.party, args.id, args.own_id)
    not_features = {*args.id, *args.own_id}
    holders = _check_columns(parties, args.target, not_features)
    linkage = vertical.link({n: p["keys"] for n, p in parties.items()})
    by = ", ".join(args.id)
    if linkage.size == 0:
        raise InvalidParameterError(
            f"the parties share no patient (by {by}); check that every party writes the "
            "ids the same way")
    if linkage.size < args.min_linked:
        shown = (f"{linkage.size}" if linkage.size >= args.min_cell
                 else f"fewer than {args.min_cell}")
        raise InvalidParameterError(
            f"the parties share {shown} patients (by {by}), fewer than --min-linked "
            f"{args.min_linked}")
    blocks, y = {}, None
    for name, party in parties.items():
        columns = [c for c in party["header"] if c not in not_features and c != args.target]
        if name == holders[0]:
            site = data.read_site_csv(party["path"], target=args.target, features=columns)
            X, y = site.X, site.y[linkage.rows[name]]
        else:
            X = data.read_table(party["path"], columns=columns)[1] if columns else \
                np.empty((len(party["keys"]), 0))
        blocks[name] = (X[linkage.rows[name]], columns)
    holder = holders[0]
    split = data.Site("linked", np.arange(len(y), dtype=float)[:, None], y, ("row",))
    train, test = data.train_test_split_site(split, test_size=args.test_size,
                                             random_state=args.seed)
    rows, test_rows = train.X[:, 0].astype(int), test.X[:, 0].astype(int)
    if len(np.unique(y[rows])) < 2:
        raise InvalidParameterError(
            f"the linked training patients hold only one outcome of --target {args.target}")
    study = [vertical.Party(name, X[rows], columns, y=y[rows] if name == holder else None)
             for name, (X, columns) in blocks.items()]
    results = compare(
        study, {name: X[test_rows] for name, (X, _) in blocks.items()}, y[test_rows],
        max_steps=args.max_steps, lr=args.lr, l2=args.l2, tol=args.tol)
    return {"linked": linkage.size, **results}


def _check_columns(parties, target, ids):
    """The label holder(s); refuses a target in none or two parties, a column in two."""
    holders = [n for n, p in parties.items() if target in p["header"]]
    files = {n: Path(p["path"]).name for n, p in parties.items()}
    if target in ids:
        raise InvalidParameterError(f"--target {target}: is also an --id or --own-id column")
    if not holders:
        raise InvalidParameterError(f"--target {target}: no party has this column")
    if len(holders) > 1:
        raise InvalidParameterError(
            f"--target {target}: in {' and '.join(files[n] for n in holders)}; exactly one "
            "party (the label holder) may hold the outcome")
    owner = {}
    for name, party in parties.items():
        for column in party["header"]:
            if column in ids:
                continue
            if column in owner:
                raise InvalidParameterError(
                    f"column '{column}' is in {files[owner[column]]} and {files[name]}; a "
                    "column other than --id belongs to one party (rename or drop one)")
            owner[column] = name
    return holders


def _read_ids(paths, ids, own_ids=()):
    """Every party's header, raw records and normalized keys, by name (the file's stem)."""
    from fedlab.vertical import normalize_identifier

    if len(paths) < 2:
        raise InvalidParameterError(f"--party: give at least two parties, got {len(paths)}")
    repeated = [c for c, k in Counter([*ids, *own_ids]).items() if k > 1]
    if repeated:
        option = "--id" if repeated[0] in ids and repeated[0] not in own_ids else "--own-id"
        raise InvalidParameterError(f"{option} {repeated[0]}: given twice (or as both --id "
                                    "and --own-id)")
    names = [Path(p).stem for p in paths]
    if len(set(names)) != len(names):
        raise InvalidParameterError(
            f"--party files must have distinct names (file stems), got {names}")
    parties = {}
    for name, path in zip(names, paths):
        header, records = _read_records(path)
        where = Path(path).name
        for column in ids:
            if column not in header:
                raise InvalidParameterError(
                    f"{where}: no id column '{column}' (--id); its columns: "
                    f"{', '.join(header)}")
        positions = [header.index(c) for c in ids]
        keys, first = [], {}
        for row, cells in records:
            parts = []
            for column, j in zip(ids, positions):
                if not cells[j].strip():
                    raise InvalidParameterError(
                        f"{where}: row {row}: the id '{column}' is empty; every patient "
                        "needs an id")
                try:
                    parts.append(normalize_identifier(cells[j]))
                except InvalidParameterError as err:
                    raise InvalidParameterError(f"{where}: row {row}: id '{column}': "
                                                f"{err}") from None
            key = "|".join(parts)
            if key in first:
                raise InvalidParameterError(
                    f"{where}: rows {first[key]} and {row} have the same id ({', '.join(ids)}"
                    ", after normalization); each patient must appear once")
            first[key] = row
            keys.append(key)
        parties[name] = {"path": path, "header": header,
                         "records": [cells for _, cells in records], "keys": keys}
    for column in own_ids:
        if not any(column in p["header"] for p in parties.values()):
            raise InvalidParameterError(f"--own-id {column}: no party has this column")
    return parties


def _read_records(path):
    """The header and ``(row number, cells)`` of each non-blank record of a CSV file."""
    from fedlab import data

    data.read_table(path, columns=[])  # the reader's checks: a file, UTF-8, a header...
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader)]
        records = []
        for row, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise InvalidParameterError(
                    f"{Path(path).name}: row {row} has {len(cells)} values but the header "
                    f"has {len(header)} columns")
            records.append((row, cells))
    if not records:
        raise InvalidParameterError(f"{Path(path).name}: no data rows below the header")
    return header, records


def _coefficient_table(methods):
    """Coefficients per standard deviation of each feature, one column per method."""
    table = {name: m["coefficients_standardized"] for name, m in methods.items()}
    features = list(dict.fromkeys(f for c in table.values() for f in c))
    width = max(len(f) for f in features) + 2
    cell = max(len(m) for m in methods) + 2
    lines = ["", "Coefficients per standard deviation of each feature",
             f"{'feature':<{width}}" + "".join(f"{m:>{cell}}" for m in methods)]
    for f in features:
        values = [c.get(f) for c in table.values()]
        lines.append(f"{f:<{width}}" + "".join(
            f"{'':>{cell}}" if v is None else f"{v:>{cell}.4f}" for v in values))
    return "\n".join(lines)
