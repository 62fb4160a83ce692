"""The liaison officers' web client: a backend-for-frontend that holds the session and the tokens."""
