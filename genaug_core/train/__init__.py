"""Training: the Accelerate loop (loop.py), data feeding (data.py), the L1/L2 controls
(regularization.py), resumable checkpoints (checkpoint.py), self-training rounds
(selftrain.py) and their filters (filters.py), and the job runner that starts training
children for the app (jobs.py) with thread sharing between them (cores.py).

`train(config, run_dir)` in loop.py is what `python -m genaug_core train` runs
in the child process; what is trained comes from the run's model kind
(genaug_core/kinds/). Nothing here imports streamlit.
"""
