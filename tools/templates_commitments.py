TEMPLATES: dict = {}
