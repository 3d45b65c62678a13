from pathlib import Path

import strawberry

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_the_committed_sdl_matches_the_code(graphql_schema: strawberry.Schema) -> None:
    expected = graphql_schema.as_str() + "\n"
    assert SDL.read_text() == expected, "schema.graphql is stale: run `make schema`"
