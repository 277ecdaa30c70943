"""Who may do what: calling systems by API key, people by password and session, the operator at the CLI."""
