"""Request plumbing shared by the JSON API and the pages: settings, sessions and transactions, sign-in and CSRF,
the admission queue and security headers, and the one mapping of errors to answers."""
