"""File stores for issued PDFs and rendered DOCX files: a folder under the data directory (folder.py)."""
