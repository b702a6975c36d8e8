"""The bundled XML schemas: the files a package ships, and compiled validators (offline)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

SCHEMA_DIR = Path(__file__).parent / "schemas"

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
SIP_NS = "https://DILCIS.eu/XML/METS/SIPExtensionMETS"
PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# (namespace, file) in import order: XLink first, so that the METS schema's own import of XLink
# from the Library of Congress's address is skipped rather than fetched.
_METS_IMPORTS = (
    (XLINK_NS, "xlink.xsd"),
    (METS_NS, "mets.xsd"),
    (CSIP_NS, "DILCISExtensionMETS.xsd"),
    (SIP_NS, "DILCISExtensionSIPMETS.xsd"),
)
PREMIS_XSD = "premis-v3-0.xsd"

# The files every package carries in schemas/, in the order they are written.
SHIPPED = ("DILCISExtensionMETS.xsd", "DILCISExtensionSIPMETS.xsd", "mets.xsd", PREMIS_XSD, "xlink.xsd")


def schema_location(prefix: str) -> str:
    """``xsi:schemaLocation`` of a METS document whose package's ``schemas/`` is at ``prefix``."""
    return " ".join(f"{ns} {prefix}{name}" for ns, name in _METS_IMPORTS)


def _parser() -> etree.XMLParser:
    # no_network: a schema that names a remote location fails instead of fetching it.
    return etree.XMLParser(no_network=True, resolve_entities=False)


@cache
def mets_schema() -> etree.XMLSchema:
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{(SCHEMA_DIR / name).as_uri()}"/>' for ns, name in _METS_IMPORTS
    )
    driver = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:iub:archive:mets-driver">'
        f"{imports}</xs:schema>"
    )
    return etree.XMLSchema(etree.fromstring(driver.encode(), _parser()))


@cache
def premis_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / PREMIS_XSD), _parser()))
