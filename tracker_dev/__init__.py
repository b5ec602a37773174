"""Development tools outside the runtime package: the physics-based skin renderer that made
sample_photos/ and the test scenes (tracker_dev.synth), and the validation experiments behind
docs/validation.md (tracker_dev.validation). They need the development requirements; the
app never imports them (tests/unit/test_import_rules.py checks it)."""
