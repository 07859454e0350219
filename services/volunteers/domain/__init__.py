"""Rules of the volunteers service: no web, database or broker imports here."""
