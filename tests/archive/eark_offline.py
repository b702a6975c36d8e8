"""Run the E-ARK validator's command line offline.

eark-validator 1.1.3 reads four CSIP vocabularies from earkcsip.dilcis.eu when it is imported,
although it ships the same vocabularies in its own package. This wrapper answers those four
addresses from the shipped copies (and refuses every other address), then hands over to the
validator's own ``main()``. Run it with the validator's interpreter:
``.venv-eark/bin/python tests/archive/eark_offline.py PACKAGE``.
"""

from __future__ import annotations

import io
import sys
import urllib.request
from importlib.resources import files
from typing import Any

_VOCABULARIES = {
    "https://earkcsip.dilcis.eu/schema/CSIPVocabularyContentCategory.xml": "CSIPVocabularyContentCategory.xml",
    "https://earkcsip.dilcis.eu/schema/CSIPVocabularyContentInformationType.xml": (
        "CSIPVocabularyContentInformationType.xml"
    ),
    "https://earkcsip.dilcis.eu/schema/CSIPVocabularyOAISPackageType.xml": "CSIPVocabularyOAISPackageType.xml",
    "https://earkcsip.dilcis.eu/schema/CSIPVocabularyStatus.xml": "CSIPVocabularyStatus.xml",
}


def _offline_urlopen(url: Any, *args: Any, **kwargs: Any) -> io.BytesIO:
    address = url if isinstance(url, str) else url.full_url
    name = _VOCABULARIES.get(address)
    if name is None:
        raise OSError(f"offline: refusing to fetch {address}")
    shipped = files("eark_validator.ipxml.resources.vocabs").joinpath(name)
    return io.BytesIO(shipped.read_bytes())


def main() -> None:
    urllib.request.urlopen = _offline_urlopen  # type: ignore[assignment]
    from eark_validator.cli.app import main as validator_main  # imported after the patch on purpose

    sys.argv[0] = "eark-validator"
    validator_main()


if __name__ == "__main__":
    main()
