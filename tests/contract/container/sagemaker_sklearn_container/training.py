"""`SAGEMAKER_TRAINING_MODULE` of the image: run the user's script with the toolkit's arguments (container side).

The training toolkit's `train` command imports this module and calls `main()`, which reads the
job's configuration (`/opt/ml/input/config/*.json`) and runs the entry point from
`sagemaker_submit_directory` as a process, with the hyperparameters mapped to command-line
arguments (`sagemaker_training.mapping`) and the `SM_*` variables set.
"""

from sagemaker_training import entry_point, environment, runner


def main() -> None:
    job = environment.Environment()
    entry_point.run(
        uri=job.module_dir,
        user_entry_point=job.user_entry_point,
        args=job.to_cmd_args(),
        env_vars=job.to_env_vars(),
        runner_type=runner.ProcessRunnerType,
    )
