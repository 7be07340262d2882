"""`SAGEMAKER_SERVING_MODULE` of the image and its `serve` command (container side).

`serving_entrypoint()` starts the toolkit's server (gunicorn with gevent workers, behind nginx
unless `SAGEMAKER_USE_NGINX=false`), which first downloads and `pip install`s the code from
`SAGEMAKER_SUBMIT_DIRECTORY`. Each gunicorn worker then loads `main`, a WSGI app: the user
module named by `SAGEMAKER_PROGRAM` becomes a `Transformer` (its `model_fn` and either
`transform_fn` or the `input_fn`/`predict_fn`/`output_fn` trio, with the image's defaults for
the ones left out) served by the toolkit's Flask `Worker`.
"""

import importlib

import numpy as np
from sagemaker_containers.beta.framework import content_types, encoders, env, modules, server, transformer, worker


class UserError(Exception):
    """The user module is unusable as written."""


def default_input_fn(input_data, content_type):
    array = encoders.decode(input_data, content_type)
    return array.astype(np.float32) if content_type in content_types.UTF8_TYPES else array


def default_predict_fn(input_data, model):
    return model.predict(input_data)


def default_output_fn(prediction, accept):
    return worker.Response(encoders.encode(prediction, accept), accept, mimetype=accept)


def user_transformer(module):
    handlers = {name: getattr(module, name, None) for name in ("input_fn", "predict_fn", "output_fn")}
    transform_fn = getattr(module, "transform_fn", None)
    model_fn = getattr(module, "model_fn", transformer.default_model_fn)
    if transform_fn is not None:
        if any(handlers.values()):
            raise UserError("Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn")
        return transformer.Transformer(model_fn=model_fn, transform_fn=transform_fn)
    return transformer.Transformer(
        model_fn=model_fn,
        input_fn=handlers["input_fn"] or default_input_fn,
        predict_fn=handlers["predict_fn"] or default_predict_fn,
        output_fn=handlers["output_fn"] or default_output_fn,
    )


def load_user_module(name, module_dir):
    try:
        module = importlib.import_module(name)
    except ImportError:  # not installed yet: the toolkit downloads and installs it
        module = modules.import_module(module_dir, name)
    user = user_transformer(module)
    user.initialize()
    return user, getattr(module, "execution_parameters_fn", None)


_app = None


def main(environ, start_response):
    global _app
    if _app is None:
        serving = env.ServingEnv()
        user, parameters_fn = load_user_module(serving.module_name, serving.module_dir)
        _app = worker.Worker(
            transform_fn=user.transform, module_name=serving.module_name, execution_parameters_fn=parameters_fn
        )
    return _app(environ, start_response)


def serving_entrypoint():
    server.start(env.ServingEnv().framework_module)
