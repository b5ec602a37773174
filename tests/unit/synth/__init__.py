"""Tests of the physics-based photo renderer (tracker_dev.synth)."""
