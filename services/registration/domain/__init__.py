"""Rules of the registration service: no FastAPI, pymongo or aio-pika here."""
