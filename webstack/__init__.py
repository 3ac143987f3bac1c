"""webstack's Python tooling around the webstack.aws collection: the command line (cli, which
reads it in arguments and acts through commands), the layer jobs it runs (layers), direct SPA
releases (release), the embedded AWS emulator (emulator), a run's timeline (timeline) and the live
stack's diagram (diagram)."""
