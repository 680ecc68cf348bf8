"""`bcsi sandbox ...`: serve the local cloud (placeholder until sandbox/server.py lands)."""
import click


@click.group()
def sandbox():
    """The local HTTPS cloud (Entra ID, Graph, Dataverse, Business Central) for demos and tests."""
