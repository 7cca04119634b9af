import os
import subprocess
import sys

import numpy as np
import pytest

from jurist.rubrics import embeddings

pytestmark = [
    pytest.mark.embeddings,
    pytest.mark.skipif(
        not embeddings.available(),
        reason=f"the offline embedding model is not installed: {embeddings.INSTALL_HINT}",
    ),
]


def test_model_path_is_the_packaged_folder():
    path = embeddings.model_path()
    assert (path / "modules.json").is_file() and (path / "model.safetensors").is_file()


def test_embeddings_are_unit_length_and_meaningful():
    vectors = embeddings.embed(
        ["The cat sat on the mat.", "A cat is sitting on a rug.", "Quarterly tax filing deadlines"]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert embeddings.embed([]).shape == (0, 384)


def test_loading_never_touches_the_network():
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise RuntimeError('network access attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from jurist.rubrics.embeddings import embed\n"
        "print(embed(['offline']).shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(1, 384)" in done.stdout
