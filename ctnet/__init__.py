"""CT-Net reproduction: models, data, engine and FLOPs for the ctnet-repro pipeline."""
