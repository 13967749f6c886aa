"""Validation evidence for each release: the user requirements, their trace to the tests, the
executed report a test run writes (validation.pytest_plugin), the trace checker
(`python -m validation.check`) and the installation qualification (`python -m validation.iq`).

Nothing here is imported by the service; the IQ reads the service's settings and database.
"""
