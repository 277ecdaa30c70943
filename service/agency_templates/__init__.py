"""Agencies make the forms their own: a supervisor downloads the template in use, edits it in Word, uploads it to be
checked and previewed, publishes it as the agency's next version, and may roll back. One module per job; the API,
the pages and the command line call these functions alike.

    access.py    who may read and who may change an agency's templates
    download.py  the template in use (or any version) and its field sheet
    upload.py    an edited DOCX: guarded, checked, kept for preview
    preview.py   an upload (or the template in use) rendered as a marked 样稿 with its seal and signature spots
    publish.py   an upload published as a new version; a rollback to an earlier one or to the built-in template
    listing.py   the agency's forms with the version each uses, and a form's versions
"""
