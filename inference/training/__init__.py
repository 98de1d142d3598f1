"""Training SkyPatrol's own aerial detector (needs the `train` extra: torch; never run in CI).

    python -m inference.training.train generate --out DATA --worlds 300 --jobs 16
    python -m inference.training.train fit --data DATA --minutes 5 --device cuda --workers 15 --out runs/aerial
    python -m inference.training.train export --checkpoint runs/aerial/last.pt

`dataset.py` renders procedurally generated scenes from `sitl.world.scenes`; `model.py` is the
network (a small anchor-free centre-point detector); `train.py` drives generation, training and
the ONNX export in the Ultralytics layout that `YoloOnnxDetector` reads.
"""
