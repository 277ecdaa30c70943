"""The procedure of one application (办件), and the item catalogue that fills its papers.

    catalogue.py   what an item of the catalogue holds, and the areas that may not use commitment
    catalog_use.py the catalogue's use cases: list, read, add, edit (a new version), retire
    vocabulary.py  the procedure's words: channels, kinds of commitment, states, steps, outcomes
    deadlines.py   deadlines in Chinese working days, each with its legal source
    applicants.py  the applicant of a case: who may see them whole, and the key of the false-commitment list
    prefill.py     a form's data from the case and its catalogue item
    steps.py       what every step shares: who may take it, the state guard, the change by compare-and-set, audit, event
    opening.py     opening a case (safe to retry)
    papers.py      the case's letter and verification papers: filled, previewed, issued; the letter's signature commits
    procedure.py   the other steps: credit check, decision, verification result, withdrawal, closure …
    queries.py     reading cases: details, lists, overdue and due-soon deadlines
"""
