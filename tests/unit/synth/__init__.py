"""Tests of the physics-based photo renderer (tracker.synth)."""
