"""The ``dashcam`` command line (typer). Nothing imports this package."""
