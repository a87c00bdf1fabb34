"""PII masking on Presidio.

spaCy (through thinc) and Presidio import torch and transformers whenever those are installed, for
integrations Deskmate does not use (transformer NER pipes, GPU detection): ~400 MB resident in every
process that masks. They are imported here first, with those two hidden, so they take their own no-torch
path; the spaCy models Deskmate loads run on numpy. Whatever imports torch later still gets it.
"""

import os
import sys

os.environ.setdefault("PRESIDIO_DEVICE", "cpu")  # else Presidio imports torch to look for a GPU

_hidden = [name for name in ("torch", "transformers") if name not in sys.modules]
sys.modules.update(dict.fromkeys(_hidden))  # `import torch` raises ImportError while hidden
try:
    import presidio_analyzer  # noqa: F401
    import presidio_anonymizer  # noqa: F401
    import spacy  # noqa: F401
finally:
    for _name in _hidden:
        if sys.modules.get(_name, ...) is None:
            del sys.modules[_name]
