"""The server: assembles every slice's routers and pages over the web toolkit
(:func:`keepwell.server.app.create_app`), runs the scheduled cycle and answers the
commands other processes forward to it. Nothing but the CLI's root imports it."""
