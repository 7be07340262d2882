"""Registration admits exactly the models the 1.9-0 image loads without InconsistentVersionWarning.

A model is trained here, with this environment's scikit-learn, and loaded in the image's
environment with that warning turned into an error. Whatever this environment's release is,
`check_trained_version` (what the SageMaker registry runs before storing a model) must agree
with the image: accept when the load is clean, refuse when it warns.
"""

from __future__ import annotations

from pathlib import Path

import sklearn

from deploy.artifacts import pack_model_dir
from deploy.errors import RegistryError
from deploy.sagemaker.images import SKLEARN_IN_IMAGE, check_trained_version
from tests.contract.sandbox import Container

LOAD = (
    "import warnings, joblib; from sklearn.exceptions import InconsistentVersionWarning; "
    "warnings.simplefilter('error', InconsistentVersionWarning); joblib.load('/opt/ml/model/model.joblib'); "
    "print('loaded')"
)


def test_registration_check_agrees_with_what_the_image_loads(fresh_container: Container, tmp_path: Path) -> None:
    from ml.dataset import make_churn, write_table
    from ml.schema import DEFAULT_SCHEMA
    from ml.train import train

    write_table(make_churn(300, 1), tmp_path / "train" / "train.csv")
    model_dir = fresh_container.opt_ml / "model"
    schema = DEFAULT_SCHEMA
    train(tmp_path / "train", model_dir, {"algorithm": "logistic_regression"}, schema.numeric_names,
          schema.categorical_names, schema.label)  # fmt: skip
    pack_model_dir(model_dir, tmp_path / "model.tar.gz")

    loaded = fresh_container.run(["python", "-c", LOAD], {})
    try:
        check_trained_version(tmp_path / "model.tar.gz", "1.9-0")
        accepted = True
    except RegistryError as error:
        accepted = False
        assert f"trained with scikit-learn {sklearn.__version__}" in str(error)
    clean = loaded.returncode == 0 and "loaded" in loaded.stdout
    assert accepted == clean, (sklearn.__version__, SKLEARN_IN_IMAGE["1.9-0"], loaded.stderr[-2000:])
    if not clean:
        assert "InconsistentVersionWarning" in loaded.stderr
