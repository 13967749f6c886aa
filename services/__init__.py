"""The sutrace domain: receiving, scanning, genealogy, audit and signatures. No FastAPI here."""
