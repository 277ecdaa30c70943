"""What the JSON API and the pages share, below both (so that api/ and web/ never import each other): error
and status mapping, file downloads, the printable verification report."""
