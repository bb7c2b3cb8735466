"""The web toolkit every HTTP face shares: typed dependencies, the error body, the page
toolkit, charts and templates. It imports no slice but auth's identity, and never the
server (:mod:`keepwell.server`), which assembles the app."""
