"""The landing zone: files dropped under the manifest's ``landing_zone.root`` are ingested
exactly once per content (SHA-256), recorded in ``ops.raw_ingest_manifest``.

``files.py`` lists and hashes, ``tracker.py`` is a sensor tick's bookkeeping (the listing
cache ``ops.landing_files``), ``inspect.py`` refuses unreadable files whole, ``runner.py`` is
one run of a landing pipeline, ``sensors.py`` the Dagster sensors. See docs/landing-zone.md.
"""
