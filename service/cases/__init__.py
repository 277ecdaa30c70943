"""The procedure of one application (办件), and the item catalogue that fills its papers.

    catalogue.py   what an item of the catalogue holds, and the areas that may not use commitment
    catalog_use.py the catalogue's use cases: list, read, add, edit (a new version), retire
    vocabulary.py  the procedure's words: channels, kinds of commitment, states, steps, outcomes
    deadlines.py   deadlines in Chinese working days, each with its legal source
    applicants.py  the applicant of a case: who may see them whole, and the key of the false-commitment list
    prefill.py     a form's data from the case and its catalogue item
    procedure.py   the steps, each a guarded change of state recorded in the audit chain
    queries.py     reading cases: details, lists, overdue and due-soon deadlines
"""
