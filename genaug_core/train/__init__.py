"""Training: the Accelerate loop (loop.py), data feeding (data.py), the L1/L2 controls
(regularization.py) and resumable checkpoints (checkpoint.py).

`train(config, run_dir)` in loop.py is what `python -m genaug_core train` runs
in the child process. Nothing here imports streamlit; the job runner that
starts children for the app lives beside it (runner.py, issue 5).
"""
