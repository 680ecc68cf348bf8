"""OData literals, one rule for Graph and Dataverse (both speak OData v4 in $filter)."""


def odata_string(value) -> str:
    """An OData string literal: single quotes, a quote inside doubled."""
    return "'" + str(value).replace("'", "''") + "'"
